import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { SecretBox } from '../../src/core/secret-box.ts';

/**
 * SecretBox.mac's construction is kept data: persistent NameIDs that SPs link accounts by, backup
 * code hashes and CSRF tokens are its values. HMAC-SHA256 of purpose, NUL, value: a changed
 * construction would give every SP new NameIDs and void every backup code, and without the NUL
 * `mac('ab', 'c')` would equal `mac('a', 'bc')`.
 */
const KEY = Buffer.alloc(32, 7);
const box = new SecretBox(KEY);

test('mac is HMAC-SHA256 of the purpose, a NUL and the value, in base64url', () => {
  const expected = createHmac('sha256', KEY).update('saml-persistent-nameid\0https://sp.example/\0alice-id').digest('base64url');
  assert.equal(box.mac('saml-persistent-nameid', 'https://sp.example/\0alice-id'), expected);
});

test('the purpose ends where the value starts: moving a character across gives another value', () => {
  assert.notEqual(box.mac('ab', 'c'), box.mac('a', 'bc'));
});
