import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PasswordPolicyError } from 'ldapts';
import { MESSAGES, passwordChangeRefusalReason, refusal } from '../../src/directory/ldap-password.ts';

/**
 * Whether a refused change is a failed guess follows from why it was refused, not from its words: a
 * ppolicy AccountLocked answer to the Password Modify operation itself (slapd 2.5 gives it at the
 * bind, test/integration/ldap-password-refusals.test.ts; other servers with ppolicy at the change)
 * is told like a wrong password and is no guess.
 */
test('ppolicy AccountLocked on the change: the words of a wrong password, not a guess', () => {
  const err = new Error('Insufficient access');
  assert.equal(passwordChangeRefusalReason(err, PasswordPolicyError.AccountLocked), 'accountLocked');
  assert.deepEqual(refusal(passwordChangeRefusalReason(err, PasswordPolicyError.AccountLocked)), { ok: false, reason: 'account-locked', message: MESSAGES.wrongCurrent });
});

test('a wrong current password, by its text (servers without the ppolicy control, AD data 52e), is a guess; policy refusals are not', () => {
  assert.deepEqual(refusal(passwordChangeRefusalReason(new Error('unable to verify old password'))), { ok: false, reason: 'wrong-current', message: MESSAGES.wrongCurrent });
  assert.deepEqual(refusal(passwordChangeRefusalReason(new Error('80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563'))), { ok: false, reason: 'wrong-current', message: MESSAGES.wrongCurrent });
  assert.deepEqual(refusal(passwordChangeRefusalReason(new Error('x'), PasswordPolicyError.PasswordTooShort)), { ok: false, reason: 'rules', message: MESSAGES.tooShort });
  assert.deepEqual(refusal(passwordChangeRefusalReason(new Error('0000052D: Constraint violation'))), { ok: false, reason: 'rules', message: MESSAGES.adPolicy });
});
