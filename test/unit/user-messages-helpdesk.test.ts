import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CATALOGUE } from '../../src/core/errors.ts';
import { MESSAGES } from '../../src/directory/ldap-password.ts';

/**
 * Users are sent to "your helpdesk" on every other page (a disabled or locked account, a blocked
 * code); an expired password's refusal sent them to "your administrator", whom they may not know how
 * to reach. An application's own administrator ("tell its administrator or your helpdesk") is another person.
 */
test('the refusals of sign-in and password change send users to their helpdesk, never to "your administrator"', () => {
  const messages = [...Object.values(ERROR_CATALOGUE).map((entry) => entry.message), ...Object.values(MESSAGES)];
  assert.deepEqual(messages.filter((message) => /your administrator/i.test(message)), []);
  assert.match(ERROR_CATALOGUE.PASSWORD_EXPIRED_NO_GRACE.message, /Ask your helpdesk to reset it\.$/);
});
