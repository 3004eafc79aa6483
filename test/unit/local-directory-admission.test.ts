import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDirectory } from '../../src/directory/local-directory.ts';
import { localUsers, type LocalUserRecord } from '../../src/directory/local-users.ts';
import { hashPassword } from '../../src/directory/password-hash.ts';
import { localDirectorySchema } from '../../src/config/schema.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { testSealer } from '../helpers/journal-sealer.ts';

/**
 * The local directory asks whether the account is admitted (its lock, its forget mark) before the
 * password check, as the LDAP directory asks before its bind, but only for an account that has a
 * password to check: a sign-in at an account without one is a wrong password like any other, and a
 * lock message there would tell that the name is an account.
 */
const PASSWORD = 'Correct-horse-battery-9';
const clock = { now: () => 1_700_000_000_000 };
const record = (id: string, username: string, passwordHash?: string): LocalUserRecord => ({
  id,
  username,
  groups: [],
  attributes: {},
  previousPasswordHashes: [],
  mustChangePassword: false,
  disabled: false,
  oneTimeUse: false,
  createdAt: clock.now(),
  ...(passwordHash === undefined ? {} : { passwordHash }),
});

let dir: string;
let store: LowdbStore;
let directory: LocalDirectory;
let asked: string[];
const admitNone = async (accountId: string) => {
  asked.push(accountId);
  return 'locked';
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-local-admission-'));
  store = await new LowdbStore(dir, clock, { sealer: testSealer() }).open();
  const users = localUsers(store);
  await users.put(record('u-with', 'withpassword', await hashPassword(PASSWORD)));
  await users.put(record('u-without', 'nopassword'));
  directory = new LocalDirectory(users, localDirectorySchema.parse({ kind: 'local' }), clock);
  asked = [];
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

test('an account with a password is asked about before its password is checked, and refused as not admitted', async () => {
  const outcome = await directory.authenticate('withpassword', PASSWORD, undefined, { admitAccount: admitNone });
  assert.deepEqual(outcome, { ok: false, reason: 'not-admitted', accountId: 'u-with', refusal: 'locked' });
  assert.deepEqual(asked, ['u-with']);
});

test('an account without a password, or a sign-in without one, is a wrong password: no admission asked, no lock told', async () => {
  assert.deepEqual(await directory.authenticate('nopassword', PASSWORD, undefined, { admitAccount: admitNone }), { ok: false, reason: 'invalid-credentials' });
  assert.deepEqual(await directory.authenticate('withpassword', '', undefined, { admitAccount: admitNone }), { ok: false, reason: 'invalid-credentials' });
  assert.deepEqual(asked, []);
});
