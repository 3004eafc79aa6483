import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeptReads } from '../../src/directory/kept-reads.ts';

test('a value is read once for concurrent askers, kept for keptMs, and a failed read is reported and not tried again before retryMs', async () => {
  let now = 0;
  const reads: string[] = [];
  const failures: string[] = [];
  let fail = false;
  const kept = new KeptReads<number>({
    read: async (key) => {
      reads.push(key);
      if (fail) throw new Error('unreachable');
      return key.length;
    },
    failed: (key, error) => failures.push(`${key}: ${(error as Error).message}`),
    now: () => now,
    keptMs: 1_000,
    retryMs: 100,
  });
  assert.deepEqual(await Promise.all([kept.get('abc'), kept.get('abc')]), [3, 3]);
  assert.deepEqual(reads, ['abc'], 'one read for both');
  now = 999;
  assert.equal(await kept.get('abc'), 3);
  assert.deepEqual(reads, ['abc'], 'kept');
  now = 1_000;
  fail = true;
  assert.equal(await kept.get('abc'), undefined, 'past keptMs it is read again; the failed read gives nothing');
  assert.deepEqual(failures, ['abc: unreachable']);
  fail = false;
  now = 1_099;
  assert.equal(await kept.get('abc'), undefined, 'not read again within retryMs');
  assert.equal(reads.length, 2);
  now = 1_100;
  assert.equal(await kept.get('abc'), 3, 'read again after retryMs');
  assert.equal(reads.length, 3);
});
