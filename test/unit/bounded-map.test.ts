import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedMap } from '../../src/core/bounded-map.ts';

test('a bounded map forgets its oldest entries beyond its capacity; setting a key again makes it the newest', () => {
  const map = new BoundedMap<string, number>(3);
  for (const [key, value] of [['a', 1], ['b', 2], ['c', 3]] as const) map.set(key, value);
  map.set('a', 10); // a is now the newest
  map.set('d', 4); // b, the oldest, goes
  assert.deepEqual([...map.entries()], [['c', 3], ['a', 10], ['d', 4]]);
  assert.equal(map.size, 3);
  map.set('e', 5).set('f', 6);
  assert.deepEqual([...map.keys()], ['d', 'e', 'f']);
});
