import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adEntryVerdict } from '../../src/directory/ldap-account-state.ts';

/**
 * AD decides "must change" and password expiry with userAccountControl first (MS-SAMR 3.1.5.14.4):
 * with "password never expires", a required smart card or a trust account's flag, pwdLastSet 0 does not
 * make the user change the password, and AD lets the bind through. Stepgate says what AD says.
 */
const now = Date.UTC(2026, 0, 15);
const DAY = 86_400_000;
const fileTime = (ms: number): string => String((BigInt(ms) + 11_644_473_600_000n) * 10_000n);
const state = (attrs: Record<string, string>, maxPwdAgeMs?: number): string => {
  const verdict = adEntryVerdict({ dn: 'cn=x', ...attrs }, now, 14, maxPwdAgeMs);
  return verdict.kind === 'state' ? verdict.state : verdict.kind;
};

test('pwdLastSet 0 is "must change" for a normal account only', () => {
  assert.equal(state({ userAccountControl: '512', pwdLastSet: '0' }), 'must-change');
  assert.equal(state({ userAccountControl: String(512 | 0x10000), pwdLastSet: '0' }), 'ok', 'password never expires');
  assert.equal(state({ userAccountControl: String(512 | 0x40000), pwdLastSet: '0' }), 'ok', 'smart card required');
});

test('a smart-card account is not expired by the domain maxPwdAge fallback', () => {
  assert.equal(state({ userAccountControl: '512', pwdLastSet: fileTime(now - 91 * DAY) }, 90 * DAY), 'password-expired');
  assert.equal(state({ userAccountControl: String(512 | 0x40000), pwdLastSet: fileTime(now - 91 * DAY) }, 90 * DAY), 'ok');
});

test("AD's computed expiry still wins, and a disabled account stays disabled whatever the flags", () => {
  assert.equal(state({ userAccountControl: String(512 | 0x10000), 'msDS-User-Account-Control-Computed': String(0x800000) }), 'password-expired');
  assert.equal(state({ userAccountControl: String(514 | 0x10000), pwdLastSet: '0' }), 'disabled');
});

test("a fine-grained policy's \"never\" (msDS-UserPasswordExpiryTimeComputed at its maximum) is not overruled by the domain's maxPwdAge", () => {
  const never = '9223372036854775807';
  assert.equal(state({ userAccountControl: '512', pwdLastSet: fileTime(now - 91 * DAY), 'msDS-UserPasswordExpiryTimeComputed': never }, 90 * DAY), 'ok');
  assert.equal(state({ userAccountControl: '512', pwdLastSet: fileTime(now - 91 * DAY), 'msDS-UserPasswordExpiryTimeComputed': fileTime(now + 89 * DAY) }, 90 * DAY), 'ok', "a policy's longer age");
  assert.equal(state({ userAccountControl: '512', pwdLastSet: fileTime(now - 91 * DAY) }, 90 * DAY), 'password-expired', 'without the computed attribute: the domain maxPwdAge');
});
