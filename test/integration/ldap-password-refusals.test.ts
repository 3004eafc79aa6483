import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { withDirectory, fixtureLdif } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';
import { MESSAGES } from '../../src/directory/ldap-password.ts';

/**
 * A refused password change counts as a failed password guess (`wrong-current`) only when the
 * directory said the current password is wrong. A real slapd with ppolicy (lockout after 3 failures,
 * ppolicy_use_lockout) refuses a locked account's bind before it checks the password: that refusal
 * reads like a wrong password to the user, and is no guess.
 */
const pw = (uid: string): string => `Passw0rd!${uid}`;
const WRONG_CURRENT = { ok: false, reason: 'wrong-current', message: MESSAGES.wrongCurrent };
const LOCKED = { ok: false, reason: 'account-locked', message: MESSAGES.wrongCurrent };

let slapd: SlapdHandle;

before(async () => {
  slapd = await startSlapd({ ldif: await fixtureLdif() });
});

after(async () => {
  await slapd?.stop();
});

function config(): LdapDirectoryConfig {
  return ldapDirectorySchema.parse({ kind: 'ldap', urls: [slapd.url], bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: 'ou=people,dc=example,dc=org' } });
}

describe('password change of a locked account (OpenLDAP ppolicy)', () => {
  test('an account locked in the directory: told as a wrong password, not counted as a guess, whichever password is typed', async () => {
    await withDirectory(config(), async (d) => {
      assert.deepEqual(await d.changePassword((await d.findUser('locked'))!.id, pw('locked'), 'Brand-new-1!'), LOCKED, 'the right current password');
      assert.deepEqual(await d.changePassword((await d.findUser('locked'))!.id, 'not-my-password', 'Brand-new-1!'), LOCKED, 'a wrong one: slapd did not check it');
    });
  });

  test('wrong current passwords are guesses until slapd locks the account; from then on the refusals are not', async () => {
    await withDirectory(config(), async (d) => {
      // pwdMaxFailure 3: the third wrong password locks the account.
      for (let i = 0; i < 3; i++) assert.deepEqual(await d.changePassword((await d.findUser('victim'))!.id, 'not-my-password', 'Brand-new-1!'), WRONG_CURRENT, `wrong password ${i + 1}`);
      assert.deepEqual(await d.changePassword((await d.findUser('victim'))!.id, 'not-my-password', 'Brand-new-1!'), LOCKED);
      assert.deepEqual(await d.changePassword((await d.findUser('victim'))!.id, pw('victim'), 'Brand-new-1!'), LOCKED, 'the right password does not open a locked account either');
    });
  });
});
