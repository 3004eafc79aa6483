import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { SlapdHandle } from '../../scripts/slapd.ts';
import { startConfiguredSlapd } from '../helpers/slapd-configured.ts';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { LdapDirectory } from '../../src/directory/ldap-directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';

/**
 * Active Directory mode judges an account's accountExpires and its password's
 * msDS-UserPasswordExpiryTimeComputed against the server's clock, the one the rest of the server (and
 * the local directory) uses, so that a clock moved on in a test moves these decisions too. A real slapd
 * with OpenLDAP's copy of AD's user schema (msuser.schema) holds the attributes.
 */
const SUFFIX = 'dc=example,dc=org';
const DAY_MS = 86_400_000;
const pw = (uid: string): string => `Passw0rd!${uid}`;
const fileTime = (ms: number): string => String((BigInt(ms) + 11_644_473_600_000n) * 10_000n);
/** Later than the test runs by the real clock, so only a clock moved on reaches them. */
const ACCOUNT_EXPIRES = Date.now() + 30 * DAY_MS;
const PASSWORD_EXPIRES = Date.now() + 60 * DAY_MS;
const ADAM_ID = '5a1e0000-0000-4000-8000-0000000000ad';

const adUser = (uid: string, id: string, attributes: string): string =>
  `dn: uid=${uid},${SUFFIX}\nobjectClass: inetOrgPerson\nobjectClass: extensibleObject\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nentryUUID: ${id}\nuserPassword: ${pw(uid)}\nuserAccountControl: 512\n${attributes}\n`;

let slapd: SlapdHandle;

before(async () => {
  slapd = await startConfiguredSlapd({
    suffix: SUFFIX,
    global: ['include /etc/ldap/schema/msuser.schema'],
    ldif: [
      adUser('adam', ADAM_ID, `accountExpires: ${fileTime(ACCOUNT_EXPIRES)}`),
      adUser('paula', '5a1e0000-0000-4000-8000-0000000000a0', `msDS-UserPasswordExpiryTimeComputed: ${fileTime(PASSWORD_EXPIRES)}`),
    ].join('\n'),
  });
});

after(async () => {
  await slapd?.stop();
});

function config(): LdapDirectoryConfig {
  return ldapDirectorySchema.parse({ kind: 'ldap', urls: [slapd.url], bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: SUFFIX }, accountState: { flavour: 'active-directory' } });
}

test("AD mode: account expiry, at sign-in and for the signed-in user's re-reads, and password expiry follow the injected clock", async () => {
  let now = ACCOUNT_EXPIRES - DAY_MS;
  const directory = new LdapDirectory(config(), { now: () => now });
  try {
    assert.equal((await directory.authenticate('adam', pw('adam'))).ok, true, 'a day before accountExpires');
    assert.equal((await directory.findUserById(ADAM_ID))?.username, 'adam');
    now = ACCOUNT_EXPIRES;
    const expired = await directory.authenticate('adam', pw('adam'));
    assert.ok(!expired.ok && expired.reason === 'account-state' && expired.state === 'expired', JSON.stringify(expired));
    assert.equal(await directory.findUserById(ADAM_ID), null, 'SSO reuse, refresh and userinfo end with it');

    now = PASSWORD_EXPIRES - 3 * DAY_MS;
    const warned = await directory.authenticate('paula', pw('paula'));
    assert.ok(warned.ok && warned.passwordExpiresInDays === 3, JSON.stringify(warned));
    now = PASSWORD_EXPIRES;
    const passwordExpired = await directory.authenticate('paula', pw('paula'));
    assert.ok(!passwordExpired.ok && passwordExpired.reason === 'account-state' && passwordExpired.state === 'password-expired', JSON.stringify(passwordExpired));
  } finally {
    await directory.close();
  }
});

test("the server's LDAP directory runs on the server's clock: a sign-in after accountExpires by that clock is refused", async () => {
  let now = Date.now();
  const app: Booted = await boot({ directory: config() }, { clock: { now: () => now } });
  try {
    const signIn = async () => {
      const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'clock-app', rpName: 'Clock App', rp: { allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' }, forceAuthn: false, passive: false });
      const browser = new TestBrowser();
      return browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: 'adam', password: pw('adam') });
    };
    const signedIn = await signIn();
    assert.match(signedIn.url, /\/resume\?tx=/, `signed in before accountExpires, got ${signedIn.status} ${signedIn.url}`);
    now = ACCOUNT_EXPIRES + 1000;
    const refused = await signIn();
    assert.equal(refused.status, 403);
    const [event] = (await app.services.store.audit.query({ types: ['login.password'], limit: 1 })).events;
    assert.deepEqual([event?.outcome, event?.reason, event?.username], ['failure', 'account-expired', 'adam']);
  } finally {
    await app.close();
  }
});
