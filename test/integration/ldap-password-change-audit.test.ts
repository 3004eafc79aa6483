import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { TcpRelay } from '../helpers/tcp-relay.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { MESSAGES } from '../../src/directory/ldap-password.ts';
import type { StoredAuditEvent } from '../../src/store/store.ts';

/**
 * A password change the LDAP directory refuses is audited with the directory's own reason (README
 * "Reading the audit log"), through the whole server: slapd with ppolicy (lockout after 3 failures,
 * minimum length 8) behind a relay that can cut the directory off. The users must change their password
 * (pwdReset), so the sign-in leads to the change form.
 */
const PEOPLE = 'ou=people,dc=example,dc=org';
const pw = (uid: string): string => `Passw0rd!${uid}`;
const NEW_PASSWORD = 'Brand-new-Pw1';
let uuid = 0;
const mustChange = (uid: string): string =>
  `dn: uid=${uid},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nentryUUID: 7c4a0000-0000-4000-8000-${(++uuid).toString(16).padStart(12, '0')}\nuserPassword: ${pw(uid)}\npwdReset: TRUE\n`;

let slapd: SlapdHandle;
let relay: TcpRelay;
let app: Booted;

before(async () => {
  slapd = await startSlapd({ ldif: ['guesser', 'short', 'cutoff'].map(mustChange) });
  relay = await TcpRelay.to(slapd.port);
  app = await boot({ directory: ldapDirectorySchema.parse({ kind: 'ldap', urls: [relay.url], connectTimeoutMs: 2000, searchTimeoutMs: 2000, bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE } }) });
});

after(async () => {
  await app?.close();
  await relay?.cut();
  await slapd?.stop();
});

/** `uid`'s sign-in up to the change form. */
async function changeForm(browser: TestBrowser, uid: string): Promise<Page> {
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'change-app', rpName: 'Change App', rp: { allowPasswordChange: true }, handoff: { finisher: TEST_FINISHER, ref: '' }, forceAuthn: false, passive: false });
  const page = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: uid, password: pw(uid) });
  assert.match(page.body, /name="newPassword"/, `the change form, got ${page.status} ${page.url}`);
  return page;
}

async function lastChange(): Promise<StoredAuditEvent> {
  return (await app.services.store.audit.query({ types: ['password.change'], limit: 1 })).events[0]!;
}

/** Submits a change; the page shown and the audit event it wrote. */
async function change(browser: TestBrowser, form: Page, currentPassword: string, newPassword = NEW_PASSWORD): Promise<{ page: Page; event: StoredAuditEvent }> {
  const page = await browser.submit(form, { currentPassword, newPassword, confirmPassword: newPassword });
  return { page, event: await lastChange() };
}

test('wrong current passwords are audited as wrong-current until slapd locks the account, then as account-locked, in the same words', async () => {
  const browser = new TestBrowser();
  const form = await changeForm(browser, 'guesser');
  for (let i = 1; i <= 3; i++) {
    const { page, event } = await change(browser, form, 'not-the-password');
    assert.equal(page.status, 400);
    assert.ok(page.body.includes(MESSAGES.wrongCurrent));
    assert.deepEqual([event.outcome, event.reason, event.message, event.username], ['failure', 'wrong-current', MESSAGES.wrongCurrent, 'guesser'], `wrong password ${i}`);
    assert.ok(event.userId, 'the account is named');
  }
  // pwdMaxFailure 3: slapd locked the account and refuses even the right password, before checking it.
  const { page, event } = await change(browser, form, pw('guesser'));
  assert.equal(page.status, 400);
  assert.ok(page.body.includes(MESSAGES.wrongCurrent), 'the page does not reveal the lock');
  assert.deepEqual([event.reason, event.message], ['account-locked', MESSAGES.wrongCurrent]);
});

test("a new password slapd's policy refuses is audited as rules, with the policy's words", async () => {
  const browser = new TestBrowser();
  const form = await changeForm(browser, 'short');
  const { page, event } = await change(browser, form, pw('short'), 'Sh0rt!');
  assert.equal(page.status, 400);
  assert.ok(page.body.includes(MESSAGES.tooShort));
  assert.deepEqual([event.outcome, event.reason, event.message], ['failure', 'rules', MESSAGES.tooShort]);
});

test('the directory cut off after the form was shown: audited as directory-unavailable', async () => {
  const browser = new TestBrowser();
  const form = await changeForm(browser, 'cutoff');
  await relay.cut();
  try {
    const { page, event } = await change(browser, form, pw('cutoff'));
    assert.equal(page.status, 400);
    assert.ok(page.body.includes(MESSAGES.unavailable));
    assert.deepEqual([event.outcome, event.reason, event.message, event.username], ['failure', 'directory-unavailable', MESSAGES.unavailable, 'cutoff']);
  } finally {
    await relay.restore();
  }
});
