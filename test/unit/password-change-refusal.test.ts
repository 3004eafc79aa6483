import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MESSAGES, refusal, type RefusalReason } from '../../src/directory/ldap-password.ts';

/**
 * The LDAP directory's refusals carry the `password.change` audit reasons README "Reading the audit
 * log" lists; several of the directory's refusals, each in its own words, are one reason there.
 */
test("the LDAP directory's refusals carry the audit log's reasons, several words sharing one", () => {
  const reasons = Object.fromEntries(([...Object.keys(MESSAGES), 'accountLocked'] as RefusalReason[]).map((kind) => {
    const outcome = refusal(kind);
    assert.ok(!outcome.ok);
    return [kind, outcome.reason];
  }));
  assert.deepEqual(reasons, {
    wrongCurrent: 'wrong-current',
    accountLocked: 'account-locked',
    expiredNoGrace: 'password-expired',
    graceLapsed: 'grace-lapsed',
    notAllowed: 'not-allowed',
    oldRequired: 'incomplete',
    newRequired: 'incomplete',
    quality: 'rules',
    tooShort: 'rules',
    adPolicy: 'rules',
    tooYoung: 'too-young',
    history: 'history',
    needsTls: 'needs-tls',
    unavailable: 'directory-unavailable',
    generic: 'refused',
  });
});

test('a locked account is told what a wrong current password is told, under its own reason', () => {
  assert.deepEqual(refusal('accountLocked'), { ok: false, reason: 'account-locked', message: MESSAGES.wrongCurrent });
  assert.deepEqual(refusal('wrongCurrent'), { ok: false, reason: 'wrong-current', message: MESSAGES.wrongCurrent });
});
