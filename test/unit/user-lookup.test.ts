import { test, describe, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { UserLookup } from '../../src/directory/user-lookup.ts';
import type { Directory } from '../../src/directory/directory.ts';
import type { User } from '../../src/core/types.ts';

const alice: User = { id: 'u-alice', username: 'alice', groups: ['staff'], attributes: {} };
const aliceRenamed: User = { ...alice, name: 'Alice Renamed' };

let now = 1_700_000_000_000;
const clock = () => now;

/** A directory that only answers findUserById, counting calls; `answer` decides what the next call gets. */
function fakeDirectory(answer: (id: string) => Promise<User | null>) {
  const calls: string[] = [];
  const directory = {
    kind: 'local',
    findUserById(id: string) {
      calls.push(id);
      return answer(id);
    },
  } as unknown as Directory;
  return { directory, calls };
}

beforeEach(() => {
  now = 1_700_000_000_000;
});

describe('UserLookup: the directory answers reused across sign-in steps and SSO reuse', () => {
  test('find caches an answer for 10 s, then asks the directory again', async () => {
    const { directory, calls } = fakeDirectory(async (id) => (id === alice.id ? alice : null));
    const lookup = new UserLookup(directory, clock);
    assert.deepEqual(await lookup.find(alice.id), alice);
    assert.equal(calls.length, 1);
    now += 5_000;
    assert.deepEqual(await lookup.find(alice.id), alice);
    now += 5_000;
    assert.deepEqual(await lookup.find(alice.id), alice, 'exactly 10 s old is still reused');
    assert.equal(calls.length, 1, 'within 10 s the directory is not asked again');
    now += 1;
    assert.deepEqual(await lookup.find(alice.id), alice);
    assert.equal(calls.length, 2, 'after 10 s the directory is asked again');
    assert.deepEqual(await lookup.find(alice.id), alice);
    assert.equal(calls.length, 2, 'and the new answer is cached');
  });

  test('answers are cached per id, a "no such user" answer included', async () => {
    const { directory, calls } = fakeDirectory(async (id) => (id === alice.id ? alice : null));
    const lookup = new UserLookup(directory, clock);
    assert.equal(await lookup.find('u-gone'), null);
    assert.deepEqual(await lookup.find(alice.id), alice);
    assert.equal(await lookup.find('u-gone'), null);
    assert.deepEqual(calls, ['u-gone', alice.id]);
  });

  test('concurrent finds share one directory call', async () => {
    const { directory, calls } = fakeDirectory(async () => alice);
    const lookup = new UserLookup(directory, clock);
    const answers = await Promise.all([lookup.find(alice.id), lookup.find(alice.id), lookup.find(alice.id)]);
    assert.deepEqual(answers, [alice, alice, alice]);
    assert.equal(calls.length, 1);
  });

  test('remember(user, now): find returns it without asking the directory', async () => {
    const { directory, calls } = fakeDirectory(async () => aliceRenamed);
    const lookup = new UserLookup(directory, clock);
    lookup.remember(alice, now);
    assert.deepEqual(await lookup.find(alice.id), alice);
    assert.equal(calls.length, 0);
  });

  test('a remembered answer lives 10 s from when the directory gave it', async () => {
    const { directory, calls } = fakeDirectory(async () => aliceRenamed);
    const lookup = new UserLookup(directory, clock);
    lookup.remember(alice, now - 4_000);
    now += 6_000;
    assert.deepEqual(await lookup.find(alice.id), alice, 'answered 10 s ago: still reused');
    assert.equal(calls.length, 0);
    now += 1;
    assert.deepEqual(await lookup.find(alice.id), aliceRenamed, 'older than 10 s: the directory is asked');
    assert.equal(calls.length, 1);
  });

  test('remember with an answer older than 10 s is ignored: the directory is asked', async () => {
    const { directory, calls } = fakeDirectory(async () => aliceRenamed);
    const lookup = new UserLookup(directory, clock);
    lookup.remember(alice, now - 11_000);
    assert.deepEqual(await lookup.find(alice.id), aliceRenamed);
    assert.equal(calls.length, 1);
  });

  test('remember never replaces a newer cached entry', async () => {
    const { directory, calls } = fakeDirectory(async () => aliceRenamed);
    const lookup = new UserLookup(directory, clock);
    assert.deepEqual(await lookup.find(alice.id), aliceRenamed);
    lookup.remember(alice, now - 1_000);
    assert.deepEqual(await lookup.find(alice.id), aliceRenamed, 'the older answer does not win');
    assert.equal(calls.length, 1);
    now += 2_000;
    lookup.remember(alice, now);
    assert.deepEqual(await lookup.find(alice.id), alice, 'a newer answer does');
    assert.equal(calls.length, 1);
  });

  test('a failed lookup is not cached: the next find asks again', async () => {
    let fail = true;
    const { directory, calls } = fakeDirectory(async () => {
      if (fail) throw new Error('directory unavailable');
      return alice;
    });
    const lookup = new UserLookup(directory, clock);
    await assert.rejects(lookup.find(alice.id), /directory unavailable/);
    fail = false;
    assert.deepEqual(await lookup.find(alice.id), alice);
    assert.equal(calls.length, 2);
    assert.deepEqual(await lookup.find(alice.id), alice);
    assert.equal(calls.length, 2, 'the successful answer is cached');
  });
});
