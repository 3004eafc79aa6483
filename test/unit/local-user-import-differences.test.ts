import { test } from 'node:test';
import assert from 'node:assert/strict';
import { userDifferences } from '../../src/config-transfer/local-user-transfer.ts';
import type { LocalUserRecord } from '../../src/directory/local-users.ts';

const HERE: LocalUserRecord = {
  id: 'u-1',
  username: 'alice',
  name: 'Alice Doe',
  email: 'alice@example.org',
  groups: ['staff'],
  attributes: { title: ['Engineer'], department: ['IT'] },
  passwordHash: 'scrypt$here',
  previousPasswordHashes: ['scrypt$older'],
  passwordChangedAt: 1_000,
  mustChangePassword: false,
  disabled: false,
  oneTimeUse: false,
  createdAt: 1,
};

test('the same user, times of creation apart and attributes in another order, differs in nothing', () => {
  assert.deepEqual(userDifferences(HERE, { ...HERE, createdAt: 2, attributes: { department: ['IT'], title: ['Engineer'] } }), []);
});

test('each difference a replace would make is named, in the terms of the user commands, never with a hash', () => {
  const fromFile: LocalUserRecord = {
    ...HERE,
    username: 'alice.doe',
    name: 'Alice D.',
    email: 'alice.doe@example.org',
    groups: ['admins', 'staff'],
    attributes: { title: ['Boss'] },
    passwordHash: undefined,
    mustChangePassword: true,
    disabled: true,
    oneTimeUse: true,
    expiresAt: Date.parse('2027-03-01T23:59:59Z'),
  };
  const differences = userDifferences(HERE, fromFile);
  assert.deepEqual(differences, [
    'username alice here',
    'enabled here, disabled in the file',
    'no password in the file',
    'must change the password in the file, not here',
    'one-time account in the file, not here',
    'expires never here, 2027-03-01 in the file',
    'groups ["staff"] here, ["admins", "staff"] in the file',
    'another name',
    'another email',
    'other attributes',
  ]);
  assert.doesNotMatch(differences.join('\n'), /scrypt/);
  assert.deepEqual(userDifferences({ ...HERE, passwordHash: undefined }, HERE), ['no password here']);
  assert.deepEqual(userDifferences(HERE, { ...HERE, previousPasswordHashes: [] }), ['another password history'], 'the same password with another history');
  assert.deepEqual(userDifferences(HERE, { ...HERE, passwordHash: 'scrypt$file', previousPasswordHashes: [] }), ['another password'], 'a new password says so once');
});
