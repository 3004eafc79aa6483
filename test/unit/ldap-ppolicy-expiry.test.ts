import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PasswordPolicyError } from 'ldapts';
import { ppolicyVerdict, stateAttributes, type Verdict } from '../../src/directory/ldap-account-state.ts';
import { generalizedTimeToMs, policyInEffect } from '../../src/directory/ldap-password-policy.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { ConfigError, parseConfig } from '../../src/config/load.ts';

/**
 * On OpenLDAP the expiry warning comes from the expiry Stepgate computes (pwdChangedTime + the policy's
 * pwdMaxAge) as well as from slapd's timeBeforeExpiration, which slapd sends only within its own
 * pwdExpireWarning: the sooner of the two, warned passwordExpiryWarningDays before.
 */
const DAY = 86_400_000;
const verdict = (input: Partial<Parameters<typeof ppolicyVerdict>[0]>): Verdict => ppolicyVerdict({ bindOk: true, resultCode: 0, warningDays: 14, ...input });

test('the computed time left warns within passwordExpiryWarningDays, without any control from slapd', () => {
  assert.deepEqual(verdict({ msLeftByPolicy: 7 * DAY - 1000 }), { kind: 'ok', passwordExpiresInDays: 7 });
  assert.deepEqual(verdict({ msLeftByPolicy: 14 * DAY }), { kind: 'ok', passwordExpiresInDays: 14 });
  assert.deepEqual(verdict({ msLeftByPolicy: 14 * DAY + 1000 }), { kind: 'ok' }, 'more than 14 days left');
  assert.deepEqual(verdict({ msLeftByPolicy: 7 * DAY, warningDays: 5 }), { kind: 'ok' }, 'passwordExpiryWarningDays decides');
  assert.deepEqual(verdict({}), { kind: 'ok' }, 'neither known: no warning');
});

test('with slapd\'s timeBeforeExpiration as well, the smaller time left', () => {
  assert.deepEqual(verdict({ control: { timeBeforeExpiration: 2 * 86_400 }, msLeftByPolicy: 7 * DAY }), { kind: 'ok', passwordExpiresInDays: 2 });
  assert.deepEqual(verdict({ control: { timeBeforeExpiration: 7 * 86_400 }, msLeftByPolicy: 2 * DAY }), { kind: 'ok', passwordExpiresInDays: 2 });
  assert.deepEqual(verdict({ control: { timeBeforeExpiration: 3 * 86_400 } }), { kind: 'ok', passwordExpiresInDays: 3 }, 'the control alone, as before');
});

test('a computed expiry already past while slapd let the bind through warns that it expires now, never a negative count', () => {
  assert.deepEqual(verdict({ msLeftByPolicy: -3 * DAY }), { kind: 'ok', passwordExpiresInDays: 0 });
});

test('the states slapd reports are unchanged by a computed expiry', () => {
  assert.deepEqual(verdict({ control: { graceAuthNsRemaining: 1 }, msLeftByPolicy: -DAY }), { kind: 'state', state: 'password-expired', graceLogin: true });
  assert.deepEqual(verdict({ control: { error: PasswordPolicyError.ChangeAfterReset }, msLeftByPolicy: 3 * DAY }), { kind: 'state', state: 'must-change' });
  assert.deepEqual(verdict({ lockedTime: '20260101000000Z', msLeftByPolicy: 3 * DAY }), { kind: 'state', state: 'locked' });
  assert.deepEqual(verdict({ bindOk: false, resultCode: 49, control: { error: PasswordPolicyError.PasswordExpired }, msLeftByPolicy: 3 * DAY }), { kind: 'state', state: 'password-expired-no-grace' });
  assert.deepEqual(verdict({ bindOk: false, resultCode: 49, msLeftByPolicy: 3 * DAY }), { kind: 'invalid', reason: 'wrong-password' });
});

test('the service search fetches pwdChangedTime and pwdPolicySubentry on OpenLDAP only', () => {
  assert.deepEqual(stateAttributes('openldap-ppolicy'), ['pwdAccountLockedTime', 'pwdStartTime', 'pwdEndTime', 'pwdChangedTime', 'pwdPolicySubentry']);
  assert.ok(!stateAttributes('active-directory').includes('pwdChangedTime'));
  assert.deepEqual(stateAttributes('none'), []);
});

test('the policy in effect: the entry\'s pwdPolicySubentry, else accountState.defaultPolicyDn', () => {
  const subentry = 'cn=short,ou=policies,dc=example,dc=org';
  const fallback = 'cn=default,ou=policies,dc=example,dc=org';
  assert.deepEqual(policyInEffect({ dn: 'uid=a', pwdPolicySubentry: subentry }, fallback), { dn: subentry, from: 'pwdPolicySubentry' });
  assert.deepEqual(policyInEffect({ dn: 'uid=a' }, fallback), { dn: fallback, from: 'accountState.defaultPolicyDn' });
  assert.equal(policyInEffect({ dn: 'uid=a' }, undefined), undefined);
});

test('GeneralizedTime as slapd writes it, with fractions and offsets', () => {
  assert.equal(generalizedTimeToMs('20260115120000Z'), Date.UTC(2026, 0, 15, 12));
  assert.equal(generalizedTimeToMs('20260115120000.250Z'), Date.UTC(2026, 0, 15, 12, 0, 0, 250));
  assert.equal(generalizedTimeToMs('202601151200Z'), Date.UTC(2026, 0, 15, 12));
  assert.equal(generalizedTimeToMs('20260115140000+0200'), Date.UTC(2026, 0, 15, 12));
  assert.equal(generalizedTimeToMs('20260115120000'), undefined, 'no time zone');
  assert.equal(generalizedTimeToMs('yesterday'), undefined);
  assert.equal(generalizedTimeToMs(undefined), undefined);
});

test('accountState.defaultPolicyDn: a DN, on OpenLDAP only; refused naming the key', () => {
  const ldap = (accountState: Record<string, unknown>) => ({ kind: 'ldap', urls: ['ldap://127.0.0.1'], bind: { dn: 'cn=s', password: 'p' }, users: { baseDn: 'dc=x' }, accountState });
  const issues = (accountState: Record<string, unknown>): string[] => {
    try {
      parseConfig({ directory: ldap(accountState) });
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.issues;
    }
    return [];
  };
  assert.equal(ldapDirectorySchema.parse(ldap({ defaultPolicyDn: ' cn=default,ou=policies,dc=example,dc=org ' })).accountState.defaultPolicyDn, 'cn=default,ou=policies,dc=example,dc=org');
  assert.equal(ldapDirectorySchema.parse(ldap({})).accountState.defaultPolicyDn, undefined, 'optional');
  assert.deepEqual(issues({ defaultPolicyDn: 'cn=a\\,b,ou=policies,dc=example,dc=org' }), [], 'an escaped comma');
  assert.deepEqual(issues({ defaultPolicyDn: 'default' }), ["directory.accountState.defaultPolicyDn: must be the DN of slapd's default password policy entry (its ppolicy_default), e.g. cn=default,ou=policies,dc=example,dc=org"]);
  assert.equal(issues({ defaultPolicyDn: 'cn=default,,dc=org' }).length, 1);
  assert.deepEqual(issues({ flavour: 'active-directory', defaultPolicyDn: 'cn=default,dc=org' }), ['directory.accountState.defaultPolicyDn: is read only with accountState.flavour "openldap-ppolicy" (it is "active-directory"): remove it']);
});
