import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { holdServerLock, unusableDataDir } from '../../src/store/server-lock.ts';
import { loadSecretKey } from '../../src/config/secret-key.ts';
import { parseConfig } from '../../src/config/load.ts';
import { writePrivateFile } from '../../src/cli/write-private-file.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { withTempDir } from '../helpers/temp-dir.ts';

const clock = { now: () => Date.now() };
const sealer = testSealer();
const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

const withDir = <T>(run: (dir: string) => Promise<T>): Promise<T> => withTempDir('stepgate-files-', run);

describe('an export that does not fit on the disk', () => {
  test('leaves no file cut short under the asked name: the same command can run again, without --force', () =>
    withDir(async (dir) => {
      const out = join(dir, 'stepgate.export');
      const module = fileURLToPath(new URL('../../src/cli/write-private-file.ts', import.meta.url));
      const script = join(dir, 'write.mjs');
      await writeFile(script, `import { writePrivateFile } from ${JSON.stringify(module)};\ntry { writePrivateFile(process.argv[2], 'x'.repeat(64 * 1024), { overwrite: false }); } catch (error) { console.log(error.message); }\n`);
      // A file size limit (ulimit -f, in 1 KiB blocks) stops write(2) at 4 KiB as a full disk would: with an error after part of the bytes.
      const limited = spawnSync('bash', ['-c', 'ulimit -f 4 && exec "$0" --disable-warning=ExperimentalWarning "$1" "$2"', process.execPath, script, out], { encoding: 'utf8' });
      assert.equal(limited.status, 0, limited.stderr);
      assert.match(limited.stdout, new RegExp(`cannot write ${out.replace(/[.]/g, '\\.')}`));
      await assert.rejects(stat(out), { code: 'ENOENT' });
      writePrivateFile(out, 'whole', { overwrite: false });
      assert.equal(await readFile(out, 'utf8'), 'whole');
      assert.throws(() => writePrivateFile(out, 'again', { overwrite: false }), /exists; give --force/);
    }));
});

describe('server.lock that is not a file', () => {
  test('is named at once, not after the wait for another server', () =>
    withDir(async (dir) => {
      await mkdir(join(dir, 'server.lock'));
      const started = Date.now();
      await assert.rejects(holdServerLock(dir), (error: Error) => error.message.includes(`${join(dir, 'server.lock')} is not a file: remove it`) && !/in use by another/.test(error.message));
      assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
    }));
});

describe('files left with a looser mode are made private at start', () => {
  test('secret.key: group and others lose access; an owner-only 0400 key stays 0400', () =>
    withDir(async (dir) => {
      const config = parseConfig({ dataDir: dir });
      const { key } = loadSecretKey(config, { dataIsFresh: true });
      const file = join(dir, 'secret.key');
      await chmod(file, 0o644);
      assert.deepEqual(loadSecretKey(config, { dataIsFresh: false }).key, key);
      assert.equal(await modeOf(file), 0o600);
      await chmod(file, 0o400);
      loadSecretKey(config, { dataIsFresh: false });
      assert.equal(await modeOf(file), 0o400);
    }));

  test('kv.journal.rejected', () =>
    withDir(async (dir) => {
      await (await new LowdbStore(dir, clock, { sealer }).open()).close();
      await writeFile(join(dir, 'kv.journal.rejected'), 'E\tw\tdamaged\n', { mode: 0o644 });
      await chmod(join(dir, 'kv.journal.rejected'), 0o644);
      await (await new LowdbStore(dir, clock, { sealer }).open()).close();
      assert.equal(await modeOf(join(dir, 'kv.journal.rejected')), 0o600);
    }));
});

describe('a data directory that cannot be written is named by its key', () => {
  test('a file in its place: "is not a directory", for the server and the CLI alike', () =>
    withDir(async (dir) => {
      const dataDir = join(dir, 'data');
      await writeFile(dataDir, '');
      await assert.rejects(holdServerLock(dataDir), { message: `dataDir: ${dataDir} is not a directory` });
      await assert.rejects(new LowdbStore(dataDir, clock, { sealer }).open(), { message: `dataDir: ${dataDir} is not a directory` });
    }));

  test('a read-only file system', () => {
    const error = Object.assign(new Error("EROFS: read-only file system, open '/srv/data/db.json.lock'"), { code: 'EROFS' });
    assert.match(unusableDataDir('/srv/data', error).message, /^dataDir: \/srv\/data is on a read-only file system/);
  });

  // A CLI command on a full disk (even `user list`: its lock file takes a block) was told to check who may create files there.
  test('a full disk, and a used-up quota', () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    assert.match(unusableDataDir('/srv/data', full).message, /^dataDir: \/srv\/data is on a full disk: free some space there, then try again \(ENOSPC/);
    assert.doesNotMatch(unusableDataDir('/srv/data', full).message, /must be able to create files/);
    const quota = Object.assign(new Error('EDQUOT: disk quota exceeded, write'), { code: 'EDQUOT' });
    assert.match(unusableDataDir('/srv/data', quota).message, /is on a full disk \(the disk quota of the user Stepgate runs as is used up\)/);
  });
});
