import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserLookup } from '../../src/directory/user-lookup.ts';
import { LocalDirectory, toUser } from '../../src/directory/local-directory.ts';
import { localUsers, type LocalUserRecord } from '../../src/directory/local-users.ts';
import { localDirectorySchema } from '../../src/config/schema.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import type { Collection } from '../../src/store/store.ts';
import { testSealer } from '../helpers/journal-sealer.ts';

const aliceRecord: LocalUserRecord = {
  id: 'u-alice',
  username: 'alice',
  name: 'Alice',
  groups: ['staff'],
  attributes: {},
  previousPasswordHashes: [],
  mustChangePassword: false,
  disabled: false,
  oneTimeUse: false,
  createdAt: 1_600_000_000_000,
};
const renamedRecord: LocalUserRecord = { ...aliceRecord, name: 'Alice Renamed' };
/** What the local directory answers for each record. */
const alice = toUser(aliceRecord);
const aliceRenamed = toUser(renamedRecord);

let now = 1_700_000_000_000;
const clock = { now: () => now };

let dir: string;
let store: LowdbStore;
let users: Collection<LocalUserRecord>;
/** A real LocalDirectory on this test's own store; `calls` are the ids its findUserById was asked for. */
let directory: LocalDirectory;
let calls: string[];

beforeEach(async () => {
  now = 1_700_000_000_000;
  dir = await mkdtemp(join(tmpdir(), 'stepgate-user-lookup-'));
  store = await new LowdbStore(dir, clock, { sealer: testSealer() }).open();
  users = localUsers(store);
  const local = new LocalDirectory(users, localDirectorySchema.parse({ kind: 'local' }), clock);
  calls = [];
  directory = new Proxy(local, {
    get(target, property) {
      if (property === 'findUserById') {
        return (id: string) => {
          calls.push(id);
          return target.findUserById(id);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('UserLookup: the directory answers reused across sign-in steps and SSO reuse', () => {
  test('find caches an answer for 10 s, then asks the directory again', async () => {
    await users.put(aliceRecord);
    const lookup = new UserLookup(directory, clock.now);
    assert.deepEqual(await lookup.find(alice.id), alice);
    assert.equal(calls.length, 1);
    await users.put(renamedRecord);
    now += 5_000;
    assert.deepEqual(await lookup.find(alice.id), alice);
    now += 5_000;
    assert.deepEqual(await lookup.find(alice.id), alice, 'exactly 10 s old is still reused');
    assert.equal(calls.length, 1, 'within 10 s the directory is not asked again');
    now += 1;
    assert.deepEqual(await lookup.find(alice.id), aliceRenamed, "after 10 s the directory's answer of now");
    assert.equal(calls.length, 2, 'after 10 s the directory is asked again');
    assert.deepEqual(await lookup.find(alice.id), aliceRenamed);
    assert.equal(calls.length, 2, 'and the new answer is cached');
  });

  test('answers are cached per id, a "no such user" answer included', async () => {
    await users.put(aliceRecord);
    const lookup = new UserLookup(directory, clock.now);
    assert.equal(await lookup.find('u-gone'), null);
    assert.deepEqual(await lookup.find(alice.id), alice);
    assert.equal(await lookup.find('u-gone'), null);
    assert.deepEqual(calls, ['u-gone', alice.id]);
  });

  test('concurrent finds share one directory call', async () => {
    await users.put(aliceRecord);
    const lookup = new UserLookup(directory, clock.now);
    const answers = await Promise.all([lookup.find(alice.id), lookup.find(alice.id), lookup.find(alice.id)]);
    assert.deepEqual(answers, [alice, alice, alice]);
    assert.equal(calls.length, 1);
  });

  test('remember(user, now): find returns it without asking the directory', async () => {
    await users.put(renamedRecord);
    const lookup = new UserLookup(directory, clock.now);
    lookup.remember(alice, now);
    assert.deepEqual(await lookup.find(alice.id), alice);
    assert.equal(calls.length, 0);
  });

  test('a remembered answer lives 10 s from when the directory gave it', async () => {
    await users.put(renamedRecord);
    const lookup = new UserLookup(directory, clock.now);
    lookup.remember(alice, now - 4_000);
    now += 6_000;
    assert.deepEqual(await lookup.find(alice.id), alice, 'answered 10 s ago: still reused');
    assert.equal(calls.length, 0);
    now += 1;
    assert.deepEqual(await lookup.find(alice.id), aliceRenamed, 'older than 10 s: the directory is asked');
    assert.equal(calls.length, 1);
  });

  test('remember with an answer older than 10 s is ignored: the directory is asked', async () => {
    await users.put(renamedRecord);
    const lookup = new UserLookup(directory, clock.now);
    lookup.remember(alice, now - 11_000);
    assert.deepEqual(await lookup.find(alice.id), aliceRenamed);
    assert.equal(calls.length, 1);
  });

  test('remember never replaces a newer cached entry', async () => {
    await users.put(renamedRecord);
    const lookup = new UserLookup(directory, clock.now);
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
    // The directory's data file: with alice in it, then without her, so a lookup of her reads the file again.
    const dbJson = join(dir, 'db.json');
    await users.put(aliceRecord);
    const withAlice = await readFile(dbJson, 'utf8');
    await users.remove(aliceRecord.id);
    // Each write gets a modification time of its own, so the store sees both as changed whatever the file system's mtime granularity.
    const rewrite = async (text: string, mtime: Date) => (await writeFile(dbJson, text), await utimes(dbJson, mtime, mtime));
    await rewrite('{"collections": {"local-users": {"u-alice": ', new Date('2001-01-01T00:00:00Z'));
    const lookup = new UserLookup(directory, clock.now);
    await assert.rejects(lookup.find(alice.id), /db\.json cannot be used/, 'a damaged data file: the directory cannot answer');
    await rewrite(withAlice, new Date('2002-01-01T00:00:00Z'));
    assert.deepEqual(await lookup.find(alice.id), alice);
    assert.equal(calls.length, 2);
    assert.deepEqual(await lookup.find(alice.id), alice);
    assert.equal(calls.length, 2, 'the successful answer is cached');
  });
});
