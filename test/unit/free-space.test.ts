import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { checkFreeSpace } from '../../src/http/free-space.ts';

// The free space /readyz asks for is counted in bytes: the blocks left, times their size.
test('free space is counted in bytes: half of what is free passes, twice as much is refused', async () => {
  const dir = tmpdir();
  const { bavail, bsize } = await statfs(dir);
  const free = bavail * bsize;
  assert.ok(bsize > 2 && bavail > 0, 'the test needs a file system with room');
  await checkFreeSpace(dir, Math.floor(free / 2));
  await assert.rejects(checkFreeSpace(dir, free * 2), /the file system of the data directory is full/);
});
