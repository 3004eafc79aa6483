import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { graceLoginsUsed as graceLoginsOf } from '../helpers/ldap-admin.ts';
import { renderLdifTemplate, startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { LdapDirectory } from '../../src/directory/ldap-directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';
import { MESSAGES } from '../../src/directory/ldap-password.ts';
import { ERROR_CATALOGUE } from '../../src/core/errors.ts';

/**
 * slapd's ppolicy spends one grace sign-in on every bind with an expired password. The sign-in binds
 * once; the change that follows must run on that bind's connection, not bind again (with
 * pwdGraceAuthNLimit 1 the second bind was refused and the password could never be changed). With no
 * grace sign-in at all, no change form is offered: slapd would refuse the change whatever is typed.
 */
const BASE = 'dc=example,dc=org';
const PEOPLE = `ou=people,${BASE}`;
const pw = (uid: string): string => `Passw0rd!${uid}`;
const NEW_PASSWORD = 'Brand-new-Pw1';

const policy = (cn: string, graceLogins: number): string =>
  `dn: cn=${cn},ou=policies,${BASE}\nobjectClass: pwdPolicy\nobjectClass: device\ncn: ${cn}\npwdAttribute: userPassword\npwdMaxAge: 7776000\npwdCheckQuality: 1\npwdMinLength: 8\npwdAllowUserChange: TRUE\npwdLockout: TRUE\npwdMaxFailure: 3\npwdGraceAuthNLimit: ${graceLogins}\n`;
let uuid = 0;
/** A user whose password expired 10 days ago, under `policyCn` (default: slapd's default policy, no grace sign-ins). */
const expiredUser = (uid: string, policyCn?: string): string =>
  `dn: uid=${uid},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nentryUUID: 96ace000-0000-4000-8000-${(++uuid).toString(16).padStart(12, '0')}\nuserPassword: ${pw(uid)}\npwdChangedTime: {{now-100d}}\n${policyCn ? `pwdPolicySubentry: cn=${policyCn},ou=policies,${BASE}\n` : ''}`;

let slapd: SlapdHandle;
let app: Booted;

before(async () => {
  const entries = [policy('grace1', 1), policy('grace3', 3), expiredUser('grace1', 'grace1'), expiredUser('grace3', 'grace3'), expiredUser('restarted', 'grace1'), expiredUser('slow', 'grace1'), expiredUser('expired')];
  slapd = await startSlapd({ ldif: entries.map((t) => renderLdifTemplate(t)) });
  app = await boot({ directory: directoryConfig() });
});

after(async () => {
  await app?.close();
  await slapd?.stop();
});

function directoryConfig(): LdapDirectoryConfig {
  return ldapDirectorySchema.parse({ kind: 'ldap', urls: [slapd.url], bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE } });
}

const graceLoginsUsed = (uid: string): Promise<number> => graceLoginsOf(slapd, `uid=${uid},${PEOPLE}`);

async function signIn(browser: TestBrowser, uid: string): Promise<Page> {
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'grace-app', rpName: 'Grace App', rp: { allowPasswordChange: true }, handoff: { finisher: TEST_FINISHER, ref: '' }, forceAuthn: false, passive: false });
  return browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: uid, password: pw(uid) });
}

test('one grace sign-in (pwdGraceAuthNLimit 1): the password can be changed, on the bind the sign-in spent', async () => {
  const browser = new TestBrowser();
  const form = await signIn(browser, 'grace1');
  assert.match(form.body, /name="newPassword"/, `the change form, got ${form.status}`);
  assert.equal(await graceLoginsUsed('grace1'), 1, 'the sign-in spent the only grace sign-in');

  const tooShort = await browser.submit(form, { currentPassword: pw('grace1'), newPassword: 'Sh0rt!', confirmPassword: 'Sh0rt!' });
  assert.equal(tooShort.status, 400);
  assert.ok(tooShort.body.includes(MESSAGES.tooShort), 'the refusal is the policy\'s, not "expired"');

  const done = await browser.submit(tooShort, { currentPassword: pw('grace1'), newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
  assert.match(done.url, /\/resume\?tx=/, `signed in with the new password, got ${done.status} ${done.url}`);
  const [last] = (await app.services.store.audit.query({ types: ['password.change'], limit: 1 })).events;
  assert.deepEqual([last?.outcome, last?.username], ['success', 'grace1']);
});

test('three grace sign-ins: the sign-in spends one and a refused try on the form spends none', async () => {
  const browser = new TestBrowser();
  const form = await signIn(browser, 'grace3');
  assert.match(form.body, /name="newPassword"/);
  assert.equal(await graceLoginsUsed('grace3'), 1);
  const tooShort = await browser.submit(form, { currentPassword: pw('grace3'), newPassword: 'Sh0rt!', confirmPassword: 'Sh0rt!' });
  assert.equal(tooShort.status, 400);
  assert.equal(await graceLoginsUsed('grace3'), 1, 'no second bind for the change');
  const wrongCurrent = await browser.submit(tooShort, { currentPassword: 'not-the-password', newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
  assert.equal(wrongCurrent.status, 400);
  assert.ok(wrongCurrent.body.includes(MESSAGES.wrongCurrent), 'slapd checks the current password on the kept bind too');
  const [guess] = (await app.services.store.audit.query({ types: ['password.change'], limit: 1 })).events;
  assert.equal(guess?.reason, 'wrong-current', 'and it counts as a guess');
  const done = await browser.submit(tooShort, { currentPassword: pw('grace3'), newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
  assert.match(done.url, /\/resume\?tx=/, `signed in with the new password, got ${done.status} ${done.url}`);
});

test('no grace sign-in left: told at once to ask an administrator, no change form; audited as its own reason', async () => {
  const page = await signIn(new TestBrowser(), 'expired');
  assert.equal(page.status, 403);
  assert.ok(page.body.includes(ERROR_CATALOGUE.PASSWORD_EXPIRED_NO_GRACE.message), page.body);
  assert.doesNotMatch(page.body, /name="newPassword"/);
  const [event] = (await app.services.store.audit.query({ types: ['login.password'], limit: 1 })).events;
  assert.deepEqual([event?.outcome, event?.reason, event?.username], ['failure', 'account-password-expired-no-grace', 'expired']);
});

test('the kept bind is gone (a restart, its time ran out): the change falls back to a new bind and says why it failed', async () => {
  const heldBindOf = async (directory: LdapDirectory, uid: string): Promise<string> => {
    const outcome = await directory.authenticate(uid, pw(uid));
    assert.ok(!outcome.ok && outcome.reason === 'account-state' && outcome.state === 'password-expired' && outcome.heldBindId, JSON.stringify(outcome));
    return outcome.heldBindId;
  };
  const lapsed = { ok: false, reason: 'grace-lapsed', message: MESSAGES.graceLapsed };

  const before = new LdapDirectory(directoryConfig());
  const id = await heldBindOf(before, 'restarted');
  assert.deepEqual(before.poolStats().auth.open, 0, 'the held connection left the pool');
  await before.close();
  const after = new LdapDirectory(directoryConfig());
  try {
    assert.deepEqual(await after.changePassword((await after.findUser('restarted'))!.id, pw('restarted'), NEW_PASSWORD, undefined, { heldBindId: id }), lapsed);
  } finally {
    await after.close();
  }

  const shortHold = new LdapDirectory(directoryConfig(), { heldBindMs: 100 });
  try {
    const slowId = await heldBindOf(shortHold, 'slow');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await shortHold.changePassword((await shortHold.findUser('slow'))!.id, pw('slow'), NEW_PASSWORD, undefined, { heldBindId: slowId }), lapsed);
  } finally {
    await shortHold.close();
  }
});
