import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { LocalUserAdmin } from '../../src/directory/local-user-admin.ts';

const FIRST = 'First-password-41';
const CURRENT = 'Current-password-42';
const NEW = 'Brand-new-pass-44';
let app: Booted;

async function signInPage(browser: TestBrowser): Promise<Page> {
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'change-app', rpName: 'Change App', rp: { allowPasswordChange: true }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false });
  return browser.get(`${app.url}/login/${tx.id}`);
}

/** The user's sign-in up to the page that makes them change their password. */
async function changePasswordPage(username: string): Promise<{ browser: TestBrowser; page: Page }> {
  const browser = new TestBrowser();
  const page = await browser.submit(await signInPage(browser), { username, password: CURRENT });
  assert.match(page.body, /name="newPassword"/, `the change page, got ${page.status} ${page.url}`);
  return { browser, page };
}

/** A local user who must change their password, with an email whose local part differs from the username (a name of its own for the lock). */
async function mustChange(username: string): Promise<void> {
  await addLocalUser(app.services, username, FIRST, { email: `x.${username}@example.org` });
  assert.equal(await new LocalUserAdmin(app.services.store, app.services.config, app.services.clock).setPassword(username, CURRENT, { mustChange: true }), undefined);
}

before(async () => {
  app = await boot({ directory: { kind: 'local' }, regulation: { maxFailuresPerUser: 2, maxFailuresPerIp: 1000, windowSeconds: 300, lockoutSeconds: 600 } });
  await mustChange('dave');
  await mustChange('erin');
  await mustChange('fay');
});
after(() => app?.close());

test('an account locked by guesses under its email meanwhile: the change-password form checks no password', async () => {
  const { browser, page } = await changePasswordPage('dave');
  const guesser = new TestBrowser();
  const form = await signInPage(guesser);
  for (const password of ['Wrong-password-1', 'Wrong-password-2']) assert.equal((await guesser.submit(form, { username: 'x.dave@example.org', password })).status, 401);

  const refused = await browser.submit(page, { currentPassword: CURRENT, newPassword: NEW, confirmPassword: NEW });
  assert.equal(refused.status, 429);
  assert.match(refused.body, /Too many failed attempts\. Try again in 10 minutes\./, 'until when, as the password page says it');
  const [event] = (await app.services.store.audit.query({ types: ['password.change'], user: 'dave', limit: 1 })).events;
  assert.equal(event?.reason, 'rate-limited-account');
  assert.equal((await app.services.directory.authenticate('dave', CURRENT)).ok, false, 'still must change: nothing was changed');
  const outcome = await app.services.directory.authenticate('dave', NEW);
  assert.equal(outcome.ok, false, 'the new password was never set');
  assert.ok(!outcome.ok && outcome.reason === 'invalid-credentials');
});

test('wrong current passwords at the change form count on the account: its email is locked at sign-in', async () => {
  const started = await changePasswordPage('erin');
  const { browser } = started;
  let { page } = started;
  for (const currentPassword of ['Wrong-password-1', 'Wrong-password-2']) {
    page = await browser.submit(page, { currentPassword, newPassword: NEW, confirmPassword: NEW });
    assert.equal(page.status, 400);
  }
  const byEmail = new TestBrowser();
  const locked = await byEmail.submit(await signInPage(byEmail), { username: 'x.erin@example.org', password: CURRENT });
  assert.equal(locked.status, 429, 'the account is locked under every name');
});

test('wrong current passwords at the change form lock it: it says until when, as the password page does', async () => {
  const started = await changePasswordPage('fay');
  const { browser } = started;
  let { page } = started;
  for (const currentPassword of ['Wrong-password-1', 'Wrong-password-2', CURRENT]) page = await browser.submit(page, { currentPassword, newPassword: NEW, confirmPassword: NEW });
  assert.equal(page.status, 429);
  assert.match(page.body, /<h1>Change your password<\/h1>/);
  assert.match(page.body, /Too many failed attempts\. Try again in 10 minutes\./);
});
