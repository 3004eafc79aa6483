import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withTempDir } from '../helpers/temp-dir.ts';

// On a full disk the lock file was made (it needs no block) but its pid could not be written: the
// empty file stayed behind, and once space was back every writer (the server's next enrolment, each
// CLI command) waited 2 s before taking it over as a holder that died while creating it.
test('a lock whose holder could not write its pid (a full disk) leaves no lock file behind', () =>
  withTempDir('stepgate-lock-full-', async (dir) => {
    const path = join(dir, 'db.json.lock');
    const module = fileURLToPath(new URL('../../src/store/file-lock.ts', import.meta.url));
    const script = join(dir, 'hold.ts');
    await writeFile(script, `import { FileLock } from ${JSON.stringify(module)};\ntry { await new FileLock(process.argv[2]).hold(async () => undefined); console.log('held'); } catch (error) { console.log(error.code); }\n`);
    // A file size limit of 0 makes write(2) fail as a full disk does, after the file was created.
    const limited = spawnSync('bash', ['-c', 'ulimit -f 0 && exec "$0" --disable-warning=ExperimentalWarning "$1" "$2"', process.execPath, script, path], { encoding: 'utf8' });
    assert.equal(limited.status, 0, limited.stderr);
    assert.equal(limited.stdout.trim(), 'EFBIG');
    await assert.rejects(stat(path), { code: 'ENOENT' }, 'no empty lock file is left for the next writer to wait out');
  }));
