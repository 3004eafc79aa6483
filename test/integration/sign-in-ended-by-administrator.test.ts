import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { request as loginRequest, startSignIn } from '../helpers/login-request.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { createUser, createUserWithTotp } from '../helpers/oidc-rp.ts';
import { cliProcess } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { assertPasswordPageNotice } from '../helpers/password-page-notice.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';

/**
 * A user in the middle of a sign-in whose session an administrator ends with the CLI (`session end`,
 * `user disable`, `mfa reset`): the next page of the sign-in is the password page again, and it says
 * why, once, instead of looking like a sign-in that started over by itself. A user who chose "Not you?"
 * is not told they were signed out.
 */
const PASSWORD = 'correct horse 42';
const SECRET_KEY = randomBytes(32).toString('base64');
const ENDED = /<p class="error" role="alert" id="form-error">You were signed out \(in another window or tab, or by an administrator\), so this sign-in has to start again\. Enter your username and password to go on\. If you did not sign out, your helpdesk can tell you why\.<\/p>/;
let app: Booted;
let aliceSecret: string;

before(async () => {
  app = await boot({}, { secretKey: SECRET_KEY });
  aliceSecret = (await createUserWithTotp(app, { username: 'alice', password: PASSWORD }, Date.now())).secret;
  await createUser(app, { username: 'carol', password: PASSWORD });
});
after(() => app?.close());

async function openSignIn(browser: TestBrowser): Promise<{ txId: string; page: Page }> {
  return startSignIn(app, browser, loginRequest({ rpName: 'Payroll', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
}

/** Runs a CLI command that ends `username`'s sessions, and waits for the server to end them. */
async function administrator(username: string, ...words: string[]): Promise<void> {
  const run = await cliProcess(app, SECRET_KEY, words);
  assert.equal(run.code, 0, run.err);
  const sessionsOf = async () => (await app.services.store.kv.entries<SsoSession>('sso-session')).filter(([, session]) => session.user.username === username).length;
  await until(sessionsOf, (count) => count === 0, `the server to end ${username}'s session`);
}

const assertToldEnded = (page: Page) => assertPasswordPageNotice(page, ENDED);

test('`session end` while the code page is open: Reload shows the password page saying the sign-in was ended, once', async () => {
  const browser = new TestBrowser();
  const { txId, page } = await openSignIn(browser);
  const codePage = await browser.submit(page, { username: 'alice', password: PASSWORD });
  assert.match(codePage.body, /Enter your code/);
  await administrator('alice', 'session', 'end', '--user', 'alice');

  const reloaded = await browser.get(codePage.url);
  assertToldEnded(reloaded);
  assert.doesNotMatch((await browser.get(codePage.url)).body, /role="alert"/, 'told once');

  const signedInAgain = await browser.submit(reloaded, { username: 'alice', password: PASSWORD });
  assert.match(signedInAgain.body, /Enter your code/, 'the same sign-in goes on');
  // The next time step's code (within the allowed skew): the current one may be the one the setup was confirmed with.
  const done = await browser.submit(signedInAgain, { code: oathtoolTotp(aliceSecret, Date.now() + 30_000) });
  assert.match(done.url, /\/resume\?tx=/);
  assert.equal(app.finished.get(txId)?.ok, true);
});

test('`mfa reset` while the new backup codes are shown: Continue leads to the password page, which says why', async () => {
  const browser = new TestBrowser();
  const { page } = await openSignIn(browser);
  const setupPage = await browser.submit(page, { username: 'carol', password: PASSWORD });
  const secret = /<code id="totp-secret">([^<]+)<\/code>/.exec(setupPage.body)![1]!.replace(/\s+/g, '');
  const codes = await browser.submit(setupPage, { code: oathtoolTotp(secret, Date.now()) }, '/enroll');
  assert.match(codes.body, /Your backup codes/);
  await administrator('carol', 'mfa', 'reset', 'carol');

  assertToldEnded(await browser.submit(codes, {}, '/continue'));
});

test('`session end` while the setup page of a sign-in that asked no password is open (the user signed in before): Reload says the sign-in was ended', async () => {
  await createUser(app, { username: 'dave', password: PASSWORD });
  const browser = new TestBrowser();
  const first = await app.services.interaction.deps.transactions.create(loginRequest({ rpName: 'Wiki', rp: { policy: 'permit-everyone', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
  await browser.submit(await browser.get(`${app.url}/login/${first.id}`), { username: 'dave', password: PASSWORD });
  assert.equal(app.finished.get(first.id)?.ok, true);
  const { page } = await openSignIn(browser);
  assert.match(page.body, /Set up your authenticator app/, 'no password asked: dave is signed in');
  await administrator('dave', 'session', 'end', '--user', 'dave');

  assertToldEnded(await browser.get(page.url));
});

test('"Not you? Sign in as someone else" on the code page: the password page says nothing of being signed out', async () => {
  const browser = new TestBrowser();
  const { txId, page } = await openSignIn(browser);
  const codePage = await browser.submit(page, { username: 'alice', password: PASSWORD });
  const next = await browser.submit(codePage, {}, '/switch-account');
  assert.equal(new URL(next.url).pathname, `/login/${txId}`);
  assert.match(next.body, /<h1>Sign in<\/h1>/);
  assert.doesNotMatch(next.body, /role="alert"/);
  assert.doesNotMatch((await browser.get(next.url)).body, /role="alert"/);
});
