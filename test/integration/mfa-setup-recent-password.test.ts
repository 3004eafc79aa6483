import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { request as loginRequest, startSignIn } from '../helpers/login-request.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { RECENT_PASSWORD_SECONDS } from '../../src/mfa/recent-password.ts';

/**
 * A sign-in's setup of a first second factor is held to the rule of "My security": only with a
 * password typed within RECENT_PASSWORD_SECONDS. Otherwise whoever sits at a browser left signed in
 * (password only) opens any application that requires MFA and registers their own app as the user's.
 */
const PASSWORD = 'correct horse 42';
let now = Date.parse('2026-11-24T09:00:15Z');
const clock = { now: () => now };
let app: Booted;

before(async () => {
  app = await boot({}, { clock });
});
after(() => app?.close());

/** Opens a sign-in to an application under `policy` in `browser`; its transaction and first page. */
async function openSignIn(browser: TestBrowser, policy: string): Promise<{ txId: string; page: Page }> {
  return startSignIn(app, browser, loginRequest({ rpId: `app-${policy}`, rpName: `App ${policy}`, rp: { policy, allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
}

/** A sign-in with the password alone, which leaves the browser signed in. */
async function signInWithPassword(browser: TestBrowser, username: string): Promise<void> {
  const { txId, page } = await openSignIn(browser, 'permit-everyone');
  await browser.submit(page, { username, password: PASSWORD });
  assert.equal(app.finished.get(txId)?.ok, true, `${username} signed in with the password`);
}

const isPasswordPage = (page: Page) => page.status === 200 && /name="password"/.test(page.body);
/** The plain sign-in page: a username to type. */
const asksUsername = (page: Page) => /<input id="field-username" name="username" type="text"/.test(page.body);
/** The password page that asks the signed-in user again: it says whose password, and why. */
const askedAgain = (name: string, username: string) => new RegExp(`<p class="signed-in-as">You are signed in as <strong>${name}</strong> \\(${username}\\)\\. Enter your password again to set up a second step for your sign-in\\.</p>`);
const isSetupPage = (page: Page) => /<code id="totp-secret">/.test(page.body);
const shownSecret = (page: Page) => /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.body)![1]!.replace(/ /g, '');

test('a session whose password is older than the limit of "My security" is asked for the password before the setup page, which says whose and why', async () => {
  const userId = await createUser(app, { username: 'carol', name: 'Carol Jones', password: PASSWORD });
  const browser = new TestBrowser();
  await signInWithPassword(browser, 'carol');
  now += (RECENT_PASSWORD_SECONDS + 1) * 1000;

  const { txId, page } = await openSignIn(browser, 'permit-everyone-require-mfa');
  assert.ok(isPasswordPage(page), `the password page, not the setup, got ${page.status}:\n${page.body.slice(0, 600)}`);
  assert.equal(isSetupPage(page), false);
  // Not the plain sign-in page, which a user left signed in takes for a session lost.
  assert.match(page.body, askedAgain('Carol Jones', 'carol'));
  assert.equal(asksUsername(page), false, 'her username is not typed again');
  assert.match(page.body, /<input type="hidden" name="username" value="carol" autocomplete="username">/);
  assert.match(page.body, /Not you\? Sign in as someone else/);

  const wrong = await browser.submit(page, { password: 'not her password' });
  assert.equal(wrong.status, 401);
  assert.match(wrong.body, askedAgain('Carol Jones', 'carol'), 'a wrong password: the same page, still naming her');
  assert.match(wrong.body, /class="error"/);

  const setup = await browser.submit(wrong, { password: PASSWORD });
  assert.ok(isSetupPage(setup), `the password typed leads to the setup, got ${setup.status}:\n${setup.body.slice(0, 600)}`);
  const codes = await browser.submit(setup, { code: oathtoolTotp(shownSecret(setup), now) });
  assert.match(codes.body, /Your backup codes/);
  await browser.submit(codes);
  const result = app.finished.get(txId);
  assert.ok(result?.ok && result.user.id === userId, 'the application gets carol, with her new factor');
});

test('a session whose password is recent goes straight to the setup page, which gives the minute the password has left', async () => {
  await createUser(app, { username: 'dora', password: PASSWORD });
  const browser = new TestBrowser();
  await signInWithPassword(browser, 'dora');
  now += (RECENT_PASSWORD_SECONDS - 60) * 1000;
  const { page } = await openSignIn(browser, 'permit-everyone-require-mfa');
  assert.ok(isSetupPage(page), `the setup page, got ${page.status}:\n${page.body.slice(0, 600)}`);
  // Not the sign-in's whole lifetime: after that minute the flow asks for the password first.
  assert.match(page.body, /Finish this setup within 1 minute, or this sign-in expires\./);
});

test('"Not you?" on that page signs the user out: the same sign-in asks for a name and a password, and the next person gets their own setup', async () => {
  const hanaId = await createUser(app, { username: 'hana', name: 'Hana Ito', password: PASSWORD });
  await createUser(app, { username: 'gina', password: PASSWORD });
  const browser = new TestBrowser();
  await signInWithPassword(browser, 'hana');
  now += (RECENT_PASSWORD_SECONDS + 1) * 1000;
  const { txId, page } = await openSignIn(browser, 'permit-everyone-require-mfa');
  assert.match(page.body, askedAgain('Hana Ito', 'hana'));

  const plain = await browser.submit(page, {}, '/switch-account');
  assert.ok(asksUsername(plain), `the plain sign-in page, got ${plain.status}:\n${plain.body.slice(0, 600)}`);
  assert.doesNotMatch(plain.body, /You are signed in as/);
  const { events } = await app.services.store.audit.query({ types: ['logout'], user: hanaId });
  assert.deepEqual(events.map((event) => [event.outcome, event.reason]), [['success', 'switch-account']]);

  const setup = await browser.submit(plain, { username: 'gina', password: PASSWORD });
  assert.ok(isSetupPage(setup));
  assert.match(setup.body, /Signed in as <strong>gina<\/strong>/);
  const codes = await browser.submit(setup, { code: oathtoolTotp(shownSecret(setup), now) });
  await browser.submit(codes);
  const result = app.finished.get(txId);
  assert.ok(result?.ok && result.user.username === 'gina', 'the application gets gina');
});

// The page sends the signed-in user's name, but the step checks whatever name comes, as any password step.
test("another person's password at that step starts their own session, and their own setup", async () => {
  const erinId = await createUser(app, { username: 'erin', password: PASSWORD });
  await createUser(app, { username: 'fred', password: PASSWORD });
  const browser = new TestBrowser();
  await signInWithPassword(browser, 'erin');
  now += (RECENT_PASSWORD_SECONDS + 1) * 1000;
  const { page } = await openSignIn(browser, 'permit-everyone-require-mfa');
  const setup = await browser.submit(page, { username: 'fred', password: PASSWORD });
  assert.ok(isSetupPage(setup));
  assert.match(setup.body, /Signed in as <strong>fred<\/strong>/, "fred's own setup");
  const { events } = await app.services.store.audit.query({ types: ['session.ended'], user: erinId });
  assert.deepEqual(events.map((event) => event.reason), ['another-user-signed-in'], "erin's session ended as another person signed in");
});
