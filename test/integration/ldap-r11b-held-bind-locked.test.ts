import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change, Client } from 'ldapts';
import { renderLdifTemplate, startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { PEOPLE, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { ldapChange } from '../helpers/ldap-admin.ts';

/**
 * A grace sign-in keeps its bound connection for the change of the expired password (a new bind would
 * spend another grace sign-in). slapd clears pwdAccountLockedTime when the password is changed on it,
 * so a lock or disable set after the sign-in must be looked for before the change, not found by a bind.
 */

const BASE = 'dc=example,dc=org';
const TEMP = 'Welcome-2026-temp';
const NEW = 'Mine-New-Passw0rd';
const GRACE_POLICY = `dn: cn=grace1,ou=policies,${BASE}\nobjectClass: pwdPolicy\nobjectClass: device\ncn: grace1\npwdAttribute: userPassword\npwdMaxAge: 7776000\npwdCheckQuality: 1\npwdMinLength: 8\npwdAllowUserChange: TRUE\npwdLockout: TRUE\npwdMaxFailure: 3\npwdGraceAuthNLimit: 1\n`;
/** The same, with a lockout that lifts by itself after 60 s. */
const GRACE_POLICY_TIMED_LOCKOUT = GRACE_POLICY.replaceAll('grace1', 'grace2') + 'pwdLockoutDuration: 60\n';
const expiredWithGrace = (cn: string, uuidTail: string, policy = 'grace1') =>
  renderLdifTemplate(`dn: cn=${cn},${PEOPLE}\nobjectClass: inetOrgPerson\ncn: ${cn}\nsn: ${cn}\nuid: ${cn}\nentryUUID: 7f000000-0000-4000-8000-${uuidTail}\nuserPassword: ${TEMP}\npwdChangedTime: {{now-100d}}\npwdPolicySubentry: cn=${policy},ou=policies,${BASE}\n`);

let slapd: SlapdHandle;
let app: Booted;
before(async () => {
  slapd = await startSlapd({
    ldif: [GRACE_POLICY, GRACE_POLICY_TIMED_LOCKOUT, expiredWithGrace('disabled1', '000000000001'), expiredWithGrace('locked1', '000000000002'), expiredWithGrace('lapsed1', '000000000003', 'grace2')],
    monitor: false,
  });
  app = await boot({ directory: slapdDirectoryInput(slapd) });
});
after(async () => {
  await app?.close();
  await slapd?.stop();
});

async function changeForm(browser: TestBrowser, login: string) {
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'c', rpName: 'C', rp: { allowPasswordChange: true }, handoff: { finisher: TEST_FINISHER, ref: '' }, forceAuthn: false, passive: false });
  return { page: await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: login, password: TEMP }), txId: tx.id };
}

async function lockedTimeOf(cn: string): Promise<string | undefined> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.rootDn, slapd.rootPassword);
    const { searchEntries } = await client.search(`cn=${cn},${PEOPLE}`, { scope: 'base', attributes: ['pwdAccountLockedTime'] });
    const value = searchEntries[0]?.pwdAccountLockedTime;
    return Array.isArray(value) ? String(value[0]) : value === undefined ? undefined : String(value);
  } finally {
    await client.unbind();
  }
}

for (const [cn, lockedTime, reason] of [
  ['disabled1', '000001010000Z', 'account-disabled'],
  ['locked1', '20260101000000Z', 'account-locked'],
] as const) {
  test(`an account ${reason === 'account-disabled' ? 'disabled' : 'locked'} after a grace sign-in is refused at the change: the lock stays, nobody is signed in`, async () => {
    const browser = new TestBrowser();
    const { page, txId } = await changeForm(browser, cn);
    assert.match(page.body, /newPassword/, 'the change form, on the held connection');
    await ldapChange(slapd, `cn=${cn},${PEOPLE}`, new Change({ operation: 'add', modification: new Attribute({ type: 'pwdAccountLockedTime', values: [lockedTime] }) }));
    await browser.submit(page, { currentPassword: TEMP, newPassword: NEW, confirmPassword: NEW });
    assert.equal(app.finished.get(txId), undefined, 'no sign-in finished');
    assert.equal(await lockedTimeOf(cn), lockedTime, 'the lock the administrator set is still there');
    const event = (await app.services.store.audit.query({ types: ['password.change'], limit: 1 })).events[0];
    assert.deepEqual([event?.outcome, event?.reason], ['failure', reason]);
  });
}

test('a lock whose pwdLockoutDuration has run out is no lock: slapd leaves the attribute until the next bind, and the change goes through', async () => {
  const browser = new TestBrowser();
  const { page, txId } = await changeForm(browser, 'lapsed1');
  assert.match(page.body, /newPassword/);
  const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
  await ldapChange(slapd, `cn=lapsed1,${PEOPLE}`, new Change({ operation: 'add', modification: new Attribute({ type: 'pwdAccountLockedTime', values: [twoHoursAgo] }) }));
  await browser.submit(page, { currentPassword: TEMP, newPassword: NEW, confirmPassword: NEW });
  const finished = app.finished.get(txId);
  assert.ok(finished?.ok && finished.user.username === 'lapsed1', `signed in after the change: ${JSON.stringify(finished)}`);
  const event = (await app.services.store.audit.query({ types: ['password.change'], limit: 1 })).events[0];
  assert.equal(event?.outcome, 'success');
});
