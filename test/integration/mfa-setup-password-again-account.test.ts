import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { request as loginRequest } from '../helpers/login-request.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { LocalUserAdmin } from '../../src/directory/local-user-admin.ts';
import { RECENT_PASSWORD_SECONDS } from '../../src/mfa/recent-password.ts';

/**
 * The password asked again before a first setup is the signed-in user's: it is checked for the
 * session's account, by its id, and wrong ones count there. The name typed at the sign-in (which the
 * page sends along) may no longer find the user, or may find someone else, within the session.
 */
const PASSWORD = 'Correct-horse-42';
const OSCAR_PASSWORD = 'Battery-staple-17';
let now = Date.parse('2026-11-25T09:00:00Z');
const clock = { now: () => now };
let app: Booted;
let admin: LocalUserAdmin;
const ids = new Map<string, string>();

before(async () => {
  app = await boot({ directory: { kind: 'local' }, regulation: { maxFailuresPerUser: 3, maxFailuresPerIp: 100, windowSeconds: 300, lockoutSeconds: 900 } }, { clock });
  admin = new LocalUserAdmin(app.services.store, app.services.config, app.services.clock);
  for (const name of ['liam', 'nina', 'pia', 'quinn']) ids.set(name, await addLocalUser(app.services, name, PASSWORD));
  ids.set('oscar', await addLocalUser(app.services, 'oscar', OSCAR_PASSWORD));
});
after(() => app?.close());

async function open(browser: TestBrowser, policy: string): Promise<{ txId: string; page: Page }> {
  const tx = await app.services.interaction.deps.transactions.create(loginRequest({ rpId: `app-${policy}`, rpName: 'App', rp: { policy, allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
  return { txId: tx.id, page: await browser.get(`${app.url}/login/${tx.id}`) };
}

async function signInWithPassword(browser: TestBrowser, login: string, password = PASSWORD): Promise<Page> {
  const { page } = await open(browser, 'permit-everyone');
  return browser.submit(page, { username: login, password });
}

/** The page asking `username` for the password again before the setup, once the password is older than "My security" allows. */
async function askedAgain(browser: TestBrowser, username: string): Promise<{ txId: string; page: Page }> {
  now += (RECENT_PASSWORD_SECONDS + 1) * 1000;
  const opened = await open(browser, 'permit-everyone-require-mfa');
  assert.match(opened.page.body, new RegExp(`You are signed in as <strong>[^<]*</strong> \\(${username}\\)\\. Enter your password again`), `the password asked again, got ${opened.page.status}`);
  return opened;
}

const isSetupPage = (page: Page) => /<code id="totp-secret">/.test(page.body);
const hiddenUsername = (page: Page) => /<input type="hidden" name="username" value="([^"]*)"/.exec(page.body)?.[1];

test('signed in with an email an administrator has changed since: the right password leads to the setup', async () => {
  const browser = new TestBrowser();
  await signInWithPassword(browser, 'liam@example.org');
  await admin.update('liam', { email: 'liam.new@example.org' });
  const { page } = await askedAgain(browser, 'liam');
  assert.equal(hiddenUsername(page), 'liam@example.org', 'the page sends the name typed at the sign-in, for password managers');

  const setup = await browser.submit(page, { password: PASSWORD });
  assert.ok(isSetupPage(setup), `the setup, got ${setup.status}:\n${setup.body.slice(0, 600)}`);
  assert.match(setup.body, /Signed in as <strong>Liam Example<\/strong> \(liam\)/);
});

test("wrong passwords count on the signed-in user's account, not on whoever the old name finds now", async () => {
  const browser = new TestBrowser();
  await signInWithPassword(browser, 'nina@example.org');
  await admin.update('nina', { email: 'nina.new@example.org' });
  await admin.update('oscar', { email: 'nina@example.org' });
  let { page } = await askedAgain(browser, 'nina');

  for (let i = 0; i < 3; i++) {
    page = await browser.submit(page, { password: `wrong-${i}-guess` });
    assert.equal(page.status, 401, `wrong password ${i + 1}`);
    assert.match(page.body, /Invalid username or password/);
    assert.match(page.body, /You are signed in as/, 'the same page, still naming her');
  }
  const { events } = await app.services.store.audit.query({ types: ['login.password'] });
  assert.deepEqual(events.slice(-3).map((event) => [event.outcome, event.reason, event.userId]), Array(3).fill(['failure', 'invalid-credentials', ids.get('nina')]));

  const locked = await browser.submit(page, { password: PASSWORD });
  assert.equal(locked.status, 429, "her account is locked: the lock's answer, also for the right password");
  assert.match(locked.body, /Too many failed attempts/);
  const oscar = await signInWithPassword(new TestBrowser(), 'nina@example.org', OSCAR_PASSWORD);
  assert.match(oscar.url, /\/resume\?tx=/, `oscar, whom that email names now, is not locked; got ${oscar.status}`);
});

test('a page shown to a user who is no longer signed in here is not checked for whoever is: it signs in the name it sends', async () => {
  const browser = new TestBrowser();
  await signInWithPassword(browser, 'pia');
  const { page } = await askedAgain(browser, 'pia');
  // In another tab: "Not you?", and quinn signs in.
  await browser.submit(page, {}, '/switch-account');
  await signInWithPassword(browser, 'quinn');

  await browser.submit(page, { password: PASSWORD });
  const { events } = await app.services.store.audit.query({ types: ['login.password'] });
  assert.deepEqual([events.at(-1)?.outcome, events.at(-1)?.userId], ['success', ids.get('pia')], "pia's password, checked as pia's");
  const ended = await app.services.store.audit.query({ types: ['session.ended'], user: ids.get('quinn') });
  assert.deepEqual(ended.events.map((event) => event.reason), ['another-user-signed-in']);
});
