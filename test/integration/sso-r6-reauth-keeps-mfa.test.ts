import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import type { Page, TestBrowser } from '../helpers/browser.ts';
import { authRequest, callbackOf, createRp, createUser, isCodePage, isEnrollPage, redeem, rpAndSpBrowser, signInSettingUpTotp, type TestRp } from '../helpers/oidc-rp.ts';
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

const noRequestedContext = { disableRequestedAuthnContext: true } as const;

/** Signs in at the MFA client with the password and a new TOTP; returns the tokens and the TOTP secret. */
const signInWithMfa = (browser: TestBrowser, username: string) => signInSettingUpTotp(app, mfaClient, browser, { username, password: PASSWORD }, now);

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
  const browser = rpAndSpBrowser();
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
  const browser = rpAndSpBrowser();
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
  const browser = rpAndSpBrowser();
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
  const browser = rpAndSpBrowser();
  await signInWithMfa(browser, 'ra-first');
  await createUser(app, { username: 'ra-second', password: PASSWORD });
  const forced = await sendAuthnRequest(browser, passwordSp, '', { ...noRequestedContext, forceAuthn: true });
  await browser.submit(forced, { username: 'ra-second', password: PASSWORD });
  const { page } = await visitMfaClient(browser);
  assert.ok(isEnrollPage(page), `the second user must set up a second factor of their own, got ${page.status} ${page.url}`);
});

test('an answer resting on a kept code states the time of that code, not of the later password: an SP judging freshness by AuthnInstant is not misled', async () => {
  const mfaSp = await TestSp.create(app, { name: 'r6-mfa-sp', register: { policy: 'permit-everyone-require-mfa' } });
  const browser = rpAndSpBrowser();
  await signInWithMfa(browser, 'ra-instant');
  const codeAt = now;
  for (let i = 0; i < 2; i += 1) {
    minutes(10);
    assert.ok((await visitMfaClient(browser)).tokens);
  }
  const forced = await sendAuthnRequest(browser, passwordSp, '', { ...noRequestedContext, forceAuthn: true });
  assert.equal(authnInstant(await browser.submit(forced, { username: 'ra-instant', password: PASSWORD })), now, 'the application that asked gets the new password time');
  minutes(1);
  const answered = await sendAuthnRequest(browser, mfaSp, '', noRequestedContext);
  assert.ok(authnInstant(answered) <= codeAt, `AuthnInstant ${new Date(authnInstant(answered)).toISOString()} is not later than the code (${new Date(codeAt).toISOString()})`);
});

test('a session the browser lost to its idle timeout keeps nothing: the password typed there again is followed by the code page', async () => {
  const browser = rpAndSpBrowser();
  await signInWithMfa(browser, 'ra-idle');
  minutes(45); // past the 30-minute idle timeout, within the 10-hour absolute lifetime
  const request = await authRequest(mfaClient);
  const login = await browser.get(request.url.toString());
  assert.ok(isPasswordPage(login), `idle session: the password page, got ${login.status} ${login.url}`);
  const after = await browser.submit(login, { username: 'ra-idle', password: PASSWORD });
  assert.ok(isCodePage(after), `whoever sits at an unattended browser with the password does not inherit its code: got ${after.status} ${after.url}`);
});

test('re-authenticating again and again does not keep one code valid past the absolute session lifetime', async () => {
  const browser = rpAndSpBrowser();
  await signInWithMfa(browser, 'ra-abs');
  // Every 25 minutes (within the idle timeout) a password-only client asks for the password again, for 10.5 hours.
  for (let i = 0; i < 26; i += 1) {
    minutes(25);
    const request = await authRequest(passwordClient, { prompt: 'login' });
    const forced = await browser.get(request.url.toString());
    assert.ok(isPasswordPage(forced), `re-authentication ${i + 1}: ${forced.status} ${forced.url}`);
    await browser.submit(forced, { username: 'ra-abs', password: PASSWORD });
  }
  const { page, tokens } = await visitMfaClient(browser);
  assert.equal(tokens, undefined, 'no MFA claims from a code older than session.absoluteTimeoutHours');
  assert.ok(isCodePage(page), `the code page, got ${page.status} ${page.url}`);
});

test('a kept code counts no longer than a session may last from when it was typed, though the re-authenticated session lasts longer', async () => {
  const browser = rpAndSpBrowser();
  await signInWithMfa(browser, 'ra-kept-end');
  const typedAt = now;
  // The browser in use every 25 minutes; shortly before the absolute end, a password-only client asks for the password again.
  while (now < typedAt + 9.5 * 3_600_000) {
    minutes(25);
    assert.ok((await visitMfaClient(browser)).tokens, 'silent SSO while the code is young');
  }
  const request = await authRequest(passwordClient, { prompt: 'login' });
  await browser.submit(await browser.get(request.url.toString()), { username: 'ra-kept-end', password: PASSWORD });
  while (now - typedAt <= 10 * 3_600_000) {
    minutes(25);
    const visit = await visitMfaClient(browser);
    if (now - typedAt <= 10 * 3_600_000) assert.ok(visit.tokens, 'the kept code still counts within its lifetime');
    else assert.ok(isCodePage(visit.page), `past 10 hours from the code: the code page, got ${visit.page.status} ${visit.page.url}`);
  }
});
