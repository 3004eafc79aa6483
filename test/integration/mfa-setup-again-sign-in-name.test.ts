import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { request as loginRequest } from '../helpers/login-request.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { personLdif, slapdDirectoryInput } from '../helpers/ldap-directory.ts';

/**
 * The password asked again before a first setup is checked under the name the user signed in with.
 * With users.filter on mail and the username the uid (a setup the README supports), the uid is a name
 * the directory does not find: sent instead, the right password was refused on every try.
 */
const PASSWORD = 'Passw0rd!jane';
let slapd: SlapdHandle;
let app: Booted;
let now = Date.parse('2026-11-24T09:00:15Z');

before(async () => {
  slapd = await startSlapd({ ldif: [personLdif({ uid: 'jane.smith', cn: 'Jane Smith', sn: 'Smith', mail: 'jane@example.org', password: PASSWORD })], monitor: false, ppolicy: false });
  app = await boot({ directory: slapdDirectoryInput(slapd, { filter: '(&(objectClass=inetOrgPerson)(mail=<username>))', usernameAttribute: 'uid', stripUpnSuffix: false }) } as never, { clock: { now: () => now } });
});
after(async () => {
  await app?.close();
  await slapd?.stop();
});

async function open(browser: TestBrowser, policy: string): Promise<{ txId: string; page: Page }> {
  const tx = await app.services.interaction.deps.transactions.create(loginRequest({ rpId: `app-${policy}`, rpName: `App ${policy}`, rp: { policy, allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
  return { txId: tx.id, page: await browser.get(`${app.url}/login/${tx.id}`) };
}

test('a user who signs in by mail, asked for the password again before a first setup, gets to the setup with it', async () => {
  const browser = new TestBrowser();
  const first = await open(browser, 'permit-everyone');
  await browser.submit(first.page, { username: 'jane@example.org', password: PASSWORD });
  const signedIn = app.finished.get(first.txId);
  assert.ok(signedIn?.ok && signedIn.user.username === 'jane.smith', JSON.stringify(signedIn));
  now += 11 * 60 * 1000; // past the 10 minutes a setup may rely on the session's password
  const second = await open(browser, 'permit-everyone-require-mfa');
  assert.match(second.page.body, /Enter your password again/);
  assert.match(second.page.body, /<input type="hidden" name="username" value="jane@example.org"/, 'the name she signed in with, not her uid');
  const setup = await browser.submit(second.page, { password: PASSWORD });
  assert.equal(setup.status, 200, setup.body);
  assert.match(setup.body, /totp-secret/, 'the setup page');
});
