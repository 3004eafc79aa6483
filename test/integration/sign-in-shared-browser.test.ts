import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { request as loginRequest, startSignIn } from '../helpers/login-request.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { createUser, createUserWithTotp } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import type { LoginRequest } from '../../src/core/types.ts';

/**
 * One browser, several people: the code and setup pages say whose sign-in they are for and let the
 * next person sign in as themselves, and a refusal's "Back to <application>" never signs in whoever
 * signed in meanwhile in another tab.
 */
const PASSWORD = 'correct horse 42';
let now = Date.parse('2026-11-24T14:00:15Z');
const clock = { now: () => now };
let app: Booted;
let aliceSecret: string;
/** User ids by username. */
const ids = new Map<string, string>();

before(async () => {
  app = await boot({}, { clock });
  const saved = await app.services.policies.save({ name: 'deny-blocked', rules: [{ when: { groups: ['blocked'] }, then: { effect: 'deny', message: 'Not for blocked accounts.' } }, { then: { effect: 'permit' } }] });
  assert.ok(saved.ok, JSON.stringify(saved));
  for (const [username, name] of [['alice', 'Alice Liddell'], ['bob', 'Bob Builder']] as const) {
    const { id, secret } = await createUserWithTotp(app, { username, name, password: PASSWORD }, now);
    ids.set(username, id);
    if (username === 'alice') aliceSecret = secret;
  }
  await createUser(app, { username: 'carol', password: PASSWORD });
  await createUser(app, { username: 'dave', password: PASSWORD, groups: ['blocked'] });
  now += 30_000;
});
after(() => app?.close());

/** Opens a sign-in to an application under `policy` in `browser`; its transaction and first page. */
async function openSignIn(browser: TestBrowser, policy: string, overrides: Partial<LoginRequest> = {}): Promise<{ txId: string; page: Page }> {
  return startSignIn(app, browser, loginRequest({ rpId: `app-${policy}`, rpName: `App ${policy}`, rp: { policy, allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' }, ...overrides }));
}

/** In another tab: a password-only application asks for the password (prompt=login), typed by `username`. */
async function signInInAnotherTab(browser: TestBrowser, username: string): Promise<void> {
  const { txId, page } = await openSignIn(browser, 'permit-everyone', { forceAuthn: true });
  await browser.submit(page, { username, password: PASSWORD });
  assert.equal(app.finished.get(txId)?.ok, true, `${username} signed in in the other tab`);
}

const isPasswordPage = (page: Page) => page.status === 200 && /name="password"/.test(page.body);
const NOT_YOU = /<button type="submit" class="secondary">Not you\? Sign in as someone else<\/button>/;

async function logouts(userId: string): Promise<Array<Record<string, unknown>>> {
  return (await app.services.store.audit.query({ types: ['logout'], user: userId })).events;
}

test('the code page names the account; "Not you?" signs that user out, and the same sign-in goes on with whoever types a password', async () => {
  const browser = new TestBrowser();
  await signInInAnotherTab(browser, 'bob');
  const { txId, page: codePage } = await openSignIn(browser, 'permit-everyone-require-mfa');
  assert.match(codePage.body, /Enter your code/);
  assert.match(codePage.body, /Signed in as <strong>Bob Builder<\/strong> \(bob\)\./);
  assert.match(codePage.body, NOT_YOU);

  const passwordPage = await browser.submit(codePage, {}, '/switch-account');
  assert.ok(isPasswordPage(passwordPage), `the password page, got ${passwordPage.status}:\n${passwordPage.body.slice(0, 600)}`);
  assert.equal(new URL(passwordPage.url).pathname, `/login/${txId}`, 'of the same sign-in');
  assert.deepEqual(
    (await logouts(ids.get('bob')!)).map((event) => [event.outcome, event.reason, event.rp]),
    [['success', 'switch-account', 'app-permit-everyone-require-mfa']],
    "bob's session ended as by a sign-out, audited",
  );

  const aliceCodePage = await browser.submit(passwordPage, { username: 'alice', password: PASSWORD });
  assert.match(aliceCodePage.body, /Signed in as <strong>Alice Liddell<\/strong> \(alice\)\./);
  await browser.submit(aliceCodePage, { code: oathtoolTotp(aliceSecret, now) });
  const result = app.finished.get(txId);
  assert.ok(result?.ok && result.user.username === 'alice', 'the application gets alice');
});

test('the setup page names the account and offers "Not you?" too', async () => {
  const browser = new TestBrowser();
  const { txId, page } = await openSignIn(browser, 'permit-everyone-require-mfa');
  const setup = await browser.submit(page, { username: 'carol', password: PASSWORD });
  assert.match(setup.body, /Set up your authenticator app/);
  assert.match(setup.body, /Signed in as <strong>carol<\/strong>\./);
  const passwordPage = await browser.submit(setup, {}, '/switch-account');
  assert.ok(isPasswordPage(passwordPage), `the password page, got ${passwordPage.status}`);
  assert.equal(new URL(passwordPage.url).pathname, `/login/${txId}`);
});

test('"Not you?" on a page shown before another person signed in in another tab signs nobody out, and shows the step naming who is signed in now', async () => {
  const browser = new TestBrowser();
  await signInInAnotherTab(browser, 'bob');
  const { page: bobsCodePage } = await openSignIn(browser, 'permit-everyone-require-mfa');
  await signInInAnotherTab(browser, 'alice');
  const before = (await logouts(ids.get('alice')!)).length;
  const page = await browser.submit(bobsCodePage, {}, '/switch-account');
  assert.match(page.body, /Signed in as <strong>Alice Liddell<\/strong> \(alice\)\./);
  assert.equal((await logouts(ids.get('alice')!)).length, before, "alice's session was not ended");
});

test('"Back to <application>" on a refusal shown to dave, after alice signed in in another tab, asks for a password and never signs alice in', async () => {
  const browser = new TestBrowser();
  const { txId, page } = await openSignIn(browser, 'deny-blocked');
  const refusal = await browser.submit(page, { username: 'dave', password: PASSWORD });
  assert.equal(refusal.status, 403);
  const back = new URL(/<a href="([^"]+)">Back to App deny-blocked<\/a>/.exec(refusal.body)![1]!, refusal.url).toString();

  await signInInAnotherTab(browser, 'alice');
  const answer = await browser.get(back);
  assert.equal(app.finished.has(txId), false, 'the application got no answer');
  assert.ok(isPasswordPage(answer), `the password page, got ${answer.status}:\n${answer.body.slice(0, 600)}`);
  assert.ok(isPasswordPage(await browser.get(`${app.url}/login/${txId}`)), 'also when the sign-in is loaded again');
  assert.equal(app.finished.has(txId), false);

  const refusedAgain = await browser.submit(answer, { username: 'dave', password: PASSWORD });
  assert.equal(refusedAgain.status, 403, 'dave is refused again');
  await browser.get(back);
  assert.deepEqual(app.finished.get(txId), { ok: false, error: 'access_denied', message: 'Not for blocked accounts.' }, 'his refusal goes back to the application');
});

test('reloading a refusal shown to dave (or going Back to it), after alice signed in in another tab, asks for a password and never signs alice in', async () => {
  const browser = new TestBrowser();
  const { txId, page } = await openSignIn(browser, 'deny-blocked');
  const refusal = await browser.submit(page, { username: 'dave', password: PASSWORD });
  assert.equal(refusal.status, 403);
  assert.equal(new URL(refusal.url).pathname, `/login/${txId}`, "the refusal is the sign-in's own page");

  await signInInAnotherTab(browser, 'alice');
  const reloaded = await browser.get(refusal.url);
  assert.equal(app.finished.has(txId), false, 'the application got no answer');
  assert.ok(isPasswordPage(reloaded), `the password page, got ${reloaded.status}:\n${reloaded.body.slice(0, 600)}`);

  const aliceAsked = await browser.submit(reloaded, { username: 'alice', password: PASSWORD });
  const result = app.finished.get(txId);
  assert.ok(result?.ok && result.user.username === 'alice', `alice, once she typed her password here, got ${aliceAsked.status}`);
});

test('"Not you?" on a page naming bob signs nobody out after the same sign-in was shown to alice in another tab', async () => {
  const browser = new TestBrowser();
  await signInInAnotherTab(browser, 'bob');
  const { txId, page: bobsCodePage } = await openSignIn(browser, 'permit-everyone-require-mfa');
  assert.match(bobsCodePage.body, /Signed in as <strong>Bob Builder<\/strong>/);
  await signInInAnotherTab(browser, 'alice');
  assert.match((await browser.get(`${app.url}/login/${txId}`)).body, /Signed in as <strong>Alice Liddell<\/strong>/, 'the same sign-in, shown to alice in the other tab');

  const before = (await logouts(ids.get('alice')!)).length;
  const page = await browser.submit(bobsCodePage, {}, '/switch-account');
  assert.equal((await logouts(ids.get('alice')!)).length, before, "alice's session was not ended");
  assert.match(page.body, /Signed in as <strong>Alice Liddell<\/strong> \(alice\)\./);
});
