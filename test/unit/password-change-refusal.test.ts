import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MESSAGES } from '../../src/directory/ldap-password.ts';
import { passwordChangeRefusal } from '../../src/login/steps/change-password.ts';

test('the LDAP directory\'s refusals map to the same reasons; words not known are "refused"', async () => {
  const ldap = (message: string, wrongCurrent = false) => passwordChangeRefusal('ldap', { message, wrongCurrent });
  assert.equal(await ldap(MESSAGES.wrongCurrent, true), 'wrong-current');
  assert.equal(await ldap(MESSAGES.wrongCurrent), 'account-locked', 'ppolicy\'s lock, worded as a wrong password for the user');
  assert.equal(await ldap(MESSAGES.history), 'history');
  for (const rules of [MESSAGES.quality, MESSAGES.tooShort, MESSAGES.adPolicy]) assert.equal(await ldap(rules), 'rules');
  assert.equal(await ldap(MESSAGES.tooYoung), 'too-young');
  assert.equal(await ldap('The directory is not reachable right now. Try again later.'), 'directory-unavailable');
  assert.equal(await ldap(MESSAGES.generic), 'refused');
});
