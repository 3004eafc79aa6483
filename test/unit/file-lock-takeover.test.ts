import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileLock } from '../../src/store/file-lock.ts';

/** A pid no process has (above Linux's pid_max of 4194304): the lock of a holder killed with -9. */
const DEAD_HOLDER = '4194999 deadbeef.x';

test('waiters that find a dead holder at the same moment take its lock over one at a time: never two holders', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-lock-'));
  try {
    const path = join(dir, 'server.lock');
    for (let trial = 0; trial < 20; trial++) {
      await writeFile(path, DEAD_HOLDER);
      let holding = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 4 }, () =>
          new FileLock(path).hold(async () => {
            most = Math.max(most, ++holding);
            await sleep(5);
            holding -= 1;
          }),
        ),
      );
      assert.equal(most, 1, `trial ${trial}: ${most} waiters held the lock at once`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
