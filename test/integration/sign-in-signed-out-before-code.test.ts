import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { request as loginRequest, startSignIn } from '../helpers/login-request.ts';
import { TestBrowser, parseForms, type Page } from '../helpers/browser.ts';
import { createUser, createUserWithTotp } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { assertPasswordPageNotice } from '../helpers/password-page-notice.ts';

/**
 * A code page left open in one tab while the user signs out in another: the code sent afterwards is
 * not taken (mfaAnswerContext), and the password page that follows says why instead of looking like a
 * sign-in that started over by itself.
 */
const PASSWORD = 'correct horse 42';
let now = Date.parse('2026-11-24T14:00:15Z');
const clock = { now: () => now };
let app: Booted;
let aliceSecret: string;

before(async () => {
  app = await boot({}, { clock });
  aliceSecret = (await createUserWithTotp(app, { username: 'alice', password: PASSWORD }, now)).secret;
  await createUser(app, { username: 'carol', password: PASSWORD });
  now += 30_000;
});
after(() => app?.close());

async function openSignIn(browser: TestBrowser): Promise<{ txId: string; page: Page }> {
  return startSignIn(app, browser, loginRequest({ rpName: 'Payroll', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
}

async function signOutInAnotherTab(browser: TestBrowser): Promise<void> {
  const confirm = await browser.get(`${app.url}/logout`);
  const done = await browser.submit(confirm, {}, '/logout');
  assert.match(done.body, /You are signed out/);
}

const assertToldSignedOut = (page: Page) =>
  assertPasswordPageNotice(page, /<p class="error" role="alert" id="form-error">You were signed out \(in another window or tab, for example\), so the code you entered was not checked\. Sign in again to go on\.<\/p>/);

test('a code sent after signing out in another tab: the password page says the code was not checked, once', async () => {
  const browser = new TestBrowser();
  const { txId, page } = await openSignIn(browser);
  const codePage = await browser.submit(page, { username: 'alice', password: PASSWORD });
  assert.match(codePage.body, /Enter your code/);
  await signOutInAnotherTab(browser);

  const answer = await browser.submit(codePage, { code: oathtoolTotp(aliceSecret, now) });
  assert.equal(new URL(answer.url).pathname, `/login/${txId}`);
  assertToldSignedOut(answer);
  assert.equal(app.finished.get(txId), undefined, 'nothing reached the application');

  const reloaded = await browser.get(answer.url);
  assert.doesNotMatch(reloaded.body, /role="alert"/, 'the message is shown once');
});

test('a setup code sent after signing out in another tab: the same message', async () => {
  const browser = new TestBrowser();
  const { txId, page } = await openSignIn(browser);
  const setupPage = await browser.submit(page, { username: 'carol', password: PASSWORD });
  assert.match(setupPage.body, /Set up your authenticator app/);
  const secret = /<code id="totp-secret">([^<]+)<\/code>/.exec(setupPage.body)![1]!.replace(/\s+/g, '');
  await signOutInAnotherTab(browser);

  const answer = await browser.submit(setupPage, { code: oathtoolTotp(secret, now) }, '/enroll');
  assertToldSignedOut(answer);
  assert.equal(app.finished.get(txId), undefined);
  assert.equal(parseForms(answer.body, answer.url).some((form) => 'password' in form.fields), true, 'the password form is there');
});

test("an application's login_hint still fills in the username on the password page that says the code was not checked", async () => {
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create(loginRequest({ rpName: 'Payroll', loginHint: 'alice', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
  const first = await browser.get(`${app.url}/login/${tx.id}`);
  assert.match(first.body, /<input id="field-username"[^>]* value="alice"/, 'the hint fills in the first password page');
  const codePage = await browser.submit(first, { username: 'alice', password: PASSWORD });
  await signOutInAnotherTab(browser);

  const answer = await browser.submit(codePage, { code: oathtoolTotp(aliceSecret, now) });
  assert.match(answer.body, /so the code you entered was not checked/);
  assert.match(answer.body, /<input id="field-username"[^>]* value="alice"/, 'as it would without the message');
});
