import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { holdServerLock } from '../../src/store/server-lock.ts';
import { withTempDir } from '../helpers/temp-dir.ts';
import { waitForExit } from '../helpers/child-exit.ts';

const SERVER_LOCK = new URL('../../src/store/server-lock.ts', import.meta.url).pathname;

const withDataDir = (work: (dataDir: string) => Promise<void>): Promise<void> => withTempDir('stepgate-lock-check-', work);

test('the lock is seen as lost when it is removed, written over in place, or replaced by another file with the same text', async () => {
  const cases: Record<string, (path: string) => Promise<void>> = {
    removed: (path) => unlink(path),
    'written over': (path) => writeFile(path, `${process.pid} another-server.x`),
    'replaced by a copy of its text': async (path) => {
      await writeFile(`${path}.new`, await readFile(path, 'utf8'));
      await rename(`${path}.new`, path);
    },
  };
  for (const [name, change] of Object.entries(cases)) {
    await withDataDir(async (dataDir) => {
      const lock = await holdServerLock(dataDir);
      try {
        assert.equal(await lock.stillHeld(), true, `${name}: held before`);
        await change(lock.path);
        assert.equal(await lock.stillHeld(), false, name);
      } finally {
        await lock.release();
      }
    });
  }
});

/**
 * Runs in a process whose descriptor limit is low: takes the lock, opens files until none can be
 * opened (as 20,000 idle connections did), then checks the lock, removes it and checks again.
 */
const EXHAUSTED = `
const { openSync } = await import('node:fs');
const { unlink } = await import('node:fs/promises');
const { holdServerLock } = await import(${JSON.stringify(SERVER_LOCK)});
const lock = await holdServerLock(process.argv[1]);
let opened = 0;
try {
  for (;;) { openSync('/dev/null'); opened += 1; }
} catch (error) {
  if (error.code !== 'EMFILE') throw error;
}
const outcome = await lock.stillHeld().then((held) => String(held), (error) => 'error ' + error.code);
await unlink(lock.path);
const afterRemoval = await lock.stillHeld().then((held) => String(held), (error) => 'error ' + error.code);
process.stdout.write(JSON.stringify({ opened, outcome, afterRemoval }));
`;

test('with every file descriptor in use, the lock still reads as held, and a removal is still seen', async () => {
  await withDataDir(async (dataDir) => {
    const child = spawn('sh', ['-c', 'ulimit -n 128 && exec "$0" --disable-warning=ExperimentalWarning --input-type=module -e "$1" "$2"', process.execPath, EXHAUSTED, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (errors += chunk));
    // (read to the end: the JSON below is its last write, which can arrive after the 'exit' event)
    const code = await waitForExit(child, { what: 'the descriptor-exhausting script', output: () => `${output}${errors}` });
    assert.equal(code, 0, errors);
    const result = JSON.parse(output) as { opened: number; outcome: string; afterRemoval: string };
    assert.ok(result.opened > 0, output);
    assert.deepEqual({ outcome: result.outcome, afterRemoval: result.afterRemoval }, { outcome: 'true', afterRemoval: 'false' });
  });
});
