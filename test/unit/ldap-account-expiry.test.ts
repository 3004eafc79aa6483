import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PasswordPolicyError } from 'ldapts';
import { PPOLICY_DISABLED_TIME, isDisabledOrExpired, ppolicyVerdict } from '../../src/directory/ldap-account-state.ts';

/**
 * What findUserById (SSO reuse, refresh, userinfo) asks: an account the password step would refuse as
 * disabled or (AD) expired gets nothing more either. AD cannot run here: the decision on the entry.
 */
const now = Date.UTC(2026, 0, 15);
const fileTime = (ms: number): string => String((BigInt(ms) + 11_644_473_600_000n) * 10_000n);
const ad = (attrs: Record<string, string>): boolean => isDisabledOrExpired({ dn: 'cn=x', ...attrs }, 'active-directory', now);

test('AD: a disabled account, and one past accountExpires, may not go on', () => {
  assert.equal(ad({ userAccountControl: '514' }), true, 'UF_ACCOUNTDISABLE');
  assert.equal(ad({ userAccountControl: '512', accountExpires: fileTime(now - 1000) }), true, 'expired a second ago');
  assert.equal(ad({ userAccountControl: '512', accountExpires: fileTime(now) }), true, 'expires this instant');
});

test('AD: an account that expires later, or never (0 and the maximum FILETIME), may go on', () => {
  assert.equal(ad({ userAccountControl: '512', accountExpires: fileTime(now + 60_000) }), false);
  assert.equal(ad({ userAccountControl: '512', accountExpires: '0' }), false);
  assert.equal(ad({ userAccountControl: '512', accountExpires: '9223372036854775807' }), false);
  assert.equal(ad({ userAccountControl: '512' }), false);
  assert.equal(ad({ userAccountControl: String(512 | 0x10), accountExpires: '0' }), false, 'a lockout does not end what was signed in');
});

test('OpenLDAP: only the administrative disable marker; no AD attribute is read', () => {
  assert.equal(isDisabledOrExpired({ dn: 'cn=x', pwdAccountLockedTime: PPOLICY_DISABLED_TIME }, 'openldap-ppolicy', now), true);
  assert.equal(isDisabledOrExpired({ dn: 'cn=x', accountExpires: fileTime(now - 1000) }, 'openldap-ppolicy', now), false);
  assert.equal(isDisabledOrExpired({ dn: 'cn=x', accountExpires: fileTime(now - 1000) }, 'none', now), false);
});

test("OpenLDAP 2.5: outside the entry's validity period (pwdStartTime, pwdEndTime) may not go on", () => {
  const ppolicy = (attrs: Record<string, string>): boolean => isDisabledOrExpired({ dn: 'cn=x', ...attrs }, 'openldap-ppolicy', now);
  assert.equal(ppolicy({ pwdEndTime: '20260114235959Z' }), true, 'ended a second ago');
  assert.equal(ppolicy({ pwdEndTime: '20260115000000Z' }), true, 'ends this instant');
  assert.equal(ppolicy({ pwdEndTime: '20260115000001Z' }), false);
  assert.equal(ppolicy({ pwdStartTime: '20260115000001Z' }), true, 'starts in a second');
  assert.equal(ppolicy({ pwdStartTime: '20260115000000Z', pwdEndTime: '20270101000000Z' }), false, 'within the period');
});

test('ppolicy: an expired password refused at the bind has no grace sign-in left; a grace bind is marked as one', () => {
  const verdict = (bindOk: boolean, control: Parameters<typeof ppolicyVerdict>[0]['control']) => ppolicyVerdict({ bindOk, resultCode: bindOk ? 0 : 49, control, warningDays: 14 });
  assert.deepEqual(verdict(false, { error: PasswordPolicyError.PasswordExpired }), { kind: 'state', state: 'password-expired-no-grace' });
  assert.deepEqual(verdict(true, { graceAuthNsRemaining: 0 }), { kind: 'state', state: 'password-expired', graceLogin: true });
  assert.deepEqual(verdict(true, { error: PasswordPolicyError.ChangeAfterReset }), { kind: 'state', state: 'must-change' });
});
