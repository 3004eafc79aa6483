import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import type { Page, TestBrowser } from '../helpers/browser.ts';
import { authRequest, callbackOf, createRp, createUser, redeem, rpBrowser, type TestRp } from '../helpers/oidc-rp.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

/**
 * A re-authentication (SAML ForceAuthn, OIDC prompt=login or max_age) asks for the password again
 * and starts a new SSO session. The second factor the session had proved stays, with the time it
 * was proved: the MFA client's tokens and the next visit to it do not depend on whether a
 * password-only application asked for the password meanwhile. Freshness windows still count from
 * that time, and another person's sign-in on the browser gets nothing of it.
 */
const PASSWORD = 'correct horse 42';
let now = Date.now();
const clock = { now: () => now };
const minutes = (count: number) => void (now += count * 60_000);
let app: Booted;
let mfaClient: TestRp;
let passwordClient: TestRp;
let passwordSp: TestSp;
let freshMfaSp: TestSp;

before(async () => {
  // node-saml dates its AuthnRequests by the real clock, which falls behind Stepgate's as the tests move it on.
  app = await boot({ saml: { requestMaxAgeSeconds: 3600 } }, { clock });
  const saved = await app.services.policies.save({ name: 'mfa-within-5-minutes', rules: [{ then: { effect: 'require-mfa', maxAgeSec: 300 } }] });
  assert.ok(saved.ok, JSON.stringify(saved));
  mfaClient = await createRp(app, { policy: 'permit-everyone-require-mfa' });
  passwordClient = await createRp(app, { policy: 'permit-everyone' });
  passwordSp = await TestSp.create(app, { name: 'r6-password-sp' });
  freshMfaSp = await TestSp.create(app, { name: 'r6-fresh-mfa-sp', register: { policy: 'mfa-within-5-minutes' } });
});
after(() => app?.close());

const isCodePage = (page: Page) => page.status === 200 && /name="code"/.test(page.body);
const isEnrollPage = (page: Page) => page.status === 200 && /Set up your authenticator app/.test(page.body);
const noRequestedContext = { disableRequestedAuthnContext: true } as const;

function browserForBoth(): TestBrowser {
  const browser = rpBrowser();
  browser.stopAt.push('https://');
  return browser;
}

/** Signs in at the MFA client with the password and a new TOTP; returns the tokens and the TOTP secret. */
async function signInWithMfa(browser: TestBrowser, username: string) {
  await createUser(app, { username, password: PASSWORD });
  const request = await authRequest(mfaClient);
  const enrollPage = await browser.submit(await browser.get(request.url.toString()), { username, password: PASSWORD });
  assert.ok(isEnrollPage(enrollPage), `expected the TOTP setup, got ${enrollPage.status} ${enrollPage.url}`);
  const secret = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(enrollPage.body)![1]!.replace(/ /g, '');
  const codesPage = await browser.submit(enrollPage, { code: oathtoolTotp(secret, now) });
  const tokens = await redeem(mfaClient, request, callbackOf(mfaClient, await browser.submit(codesPage, {})));
  return { tokens, secret };
}

/** Sends the browser to the MFA client again; the first page Stepgate shows, and the tokens when it answered at once. */
async function visitMfaClient(browser: TestBrowser) {
  const request = await authRequest(mfaClient);
  const page = await browser.get(request.url.toString());
  if (isCodePage(page) || isPasswordPage(page) || isEnrollPage(page)) return { page };
  return { page, tokens: await redeem(mfaClient, request, callbackOf(mfaClient, page)) };
}

function authnInstant(page: Page): number {
  const xml = Buffer.from(samlPostForm(page).fields.SAMLResponse!, 'base64').toString('utf8');
  return Date.parse(/AuthnInstant="([^"]+)"/.exec(xml)![1]!);
}

test('SAML ForceAuthn at a password-only SP keeps the MFA client signed in: its refresh works and it asks no code again', async () => {
  const browser = browserForBoth();
  const { tokens } = await signInWithMfa(browser, 'ra-saml');
  minutes(2);
  const forced = await sendAuthnRequest(browser, passwordSp, '', { ...noRequestedContext, forceAuthn: true });
  assert.ok(isPasswordPage(forced), 'ForceAuthn asks for the password');
  const answered = await browser.submit(forced, { username: 'ra-saml', password: PASSWORD });
  assert.equal(authnInstant(answered), now, 'the re-authentication is the AuthnInstant');

  const refreshed = await oidc.refreshTokenGrant(mfaClient.config, tokens.refresh_token!);
  assert.ok(refreshed.access_token, 'the MFA client still refreshes');
  const again = await visitMfaClient(browser);
  assert.ok(again.tokens, `the MFA client signs in without a page, got ${again.page.status} ${again.page.url}`);
  assert.deepEqual(again.tokens.claims()!.amr, ['pwd', 'otp', 'mfa']);
});

test('OIDC prompt=login at a password client keeps the MFA client signed in, with a new auth_time', async () => {
  const browser = browserForBoth();
  const { tokens } = await signInWithMfa(browser, 'ra-oidc');
  const firstAuthTime = tokens.claims()!.auth_time!;
  minutes(3);
  const request = await authRequest(passwordClient, { prompt: 'login' });
  const login = await browser.get(request.url.toString());
  assert.ok(isPasswordPage(login), 'prompt=login asks for the password');
  const relogged = await redeem(passwordClient, request, callbackOf(passwordClient, await browser.submit(login, { username: 'ra-oidc', password: PASSWORD })));
  assert.equal(relogged.claims()!.auth_time, Math.floor(now / 1000));
  assert.ok(relogged.claims()!.auth_time! > firstAuthTime);

  assert.ok((await oidc.refreshTokenGrant(mfaClient.config, tokens.refresh_token!)).access_token, 'the MFA client still refreshes');
  assert.ok((await visitMfaClient(browser)).tokens, 'the MFA client signs in without a page');
});

test('a kept factor keeps its time: a freshness window counts from when the code was typed, not from the re-authentication', async () => {
  const browser = browserForBoth();
  const { secret } = await signInWithMfa(browser, 'ra-fresh');
  minutes(10);
  const forced = await sendAuthnRequest(browser, passwordSp, '', { ...noRequestedContext, forceAuthn: true });
  await browser.submit(forced, { username: 'ra-fresh', password: PASSWORD });
  const page = await sendAuthnRequest(browser, freshMfaSp, '', noRequestedContext);
  assert.ok(isCodePage(page), 'the code typed 10 minutes ago is too old for a 5-minute window');
  minutes(1);
  const answered = await browser.submit(page, { code: oathtoolTotp(secret, now) });
  assert.ok(samlPostForm(answered).fields.SAMLResponse, 'a new code answers it');
});

test("another person signing in on the browser gets none of the previous user's factors", async () => {
  const browser = browserForBoth();
  await signInWithMfa(browser, 'ra-first');
  await createUser(app, { username: 'ra-second', password: PASSWORD });
  const forced = await sendAuthnRequest(browser, passwordSp, '', { ...noRequestedContext, forceAuthn: true });
  await browser.submit(forced, { username: 'ra-second', password: PASSWORD });
  const { page } = await visitMfaClient(browser);
  assert.ok(isEnrollPage(page), `the second user must set up a second factor of their own, got ${page.status} ${page.url}`);
});
