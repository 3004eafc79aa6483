import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import type { Page, TestBrowser } from '../helpers/browser.ts';
import { authRequest, callbackOf, createRp, isCodePage, redeem, rpAndSpBrowser, signInSettingUpTotp, type TestRp } from '../helpers/oidc-rp.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { ACR } from '../../src/policy/levels.ts';

/**
 * A re-authentication keeps the session's second factor for the other applications, but the
 * application that asked for it (ForceAuthn, prompt=login, max_age) is answered from what was proved
 * in it: the password alone is no MFA claimed at that time, and one that needs MFA asks for the code again.
 */
const PASSWORD = 'correct horse 42';
let now = Date.now();
const clock = { now: () => now };
const minutes = (count: number) => void (now += count * 60_000);
let app: Booted;
let mfaClient: TestRp;
let passwordSp: TestSp;
let mfaSp: TestSp;

before(async () => {
  // node-saml dates its AuthnRequests by the real clock, which falls behind Stepgate's as the tests move it on.
  app = await boot({ saml: { requestMaxAgeSeconds: 3600 } }, { clock });
  mfaClient = await createRp(app, { policy: 'permit-everyone-require-mfa' });
  passwordSp = await TestSp.create(app, { name: 'r6-truthful-password-sp' });
  mfaSp = await TestSp.create(app, { name: 'r6-truthful-mfa-sp', register: { policy: 'permit-everyone-require-mfa' } });
});
after(() => app?.close());

const noRequestedContext = { disableRequestedAuthnContext: true } as const;

const signInWithMfa = (browser: TestBrowser, username: string) => signInSettingUpTotp(app, mfaClient, browser, { username, password: PASSWORD }, now);

function assertionOf(page: Page): { classRef: string; authnInstant: number } {
  const xml = Buffer.from(samlPostForm(page).fields.SAMLResponse!, 'base64').toString('utf8');
  return { classRef: /<saml:AuthnContextClassRef>([^<]+)</.exec(xml)![1]!, authnInstant: Date.parse(/AuthnInstant="([^"]+)"/.exec(xml)![1]!) };
}

test('ForceAuthn at a password-only SP after MFA: the assertion claims the password it just saw, the MFA client keeps its MFA', async () => {
  const browser = rpAndSpBrowser();
  const { tokens } = await signInWithMfa(browser, 'rt-password');
  minutes(2);
  const forced = await sendAuthnRequest(browser, passwordSp, '', { ...noRequestedContext, forceAuthn: true });
  const assertion = assertionOf(await browser.submit(forced, { username: 'rt-password', password: PASSWORD }));
  assert.deepEqual(assertion, { classRef: ACR.password, authnInstant: now });
  assert.ok((await oidc.refreshTokenGrant(mfaClient.config, tokens.refresh_token!)).access_token);
});

test('ForceAuthn at an MFA SP asks for the code again, as before the re-authentication kept it', async () => {
  const browser = rpAndSpBrowser();
  const { secret } = await signInWithMfa(browser, 'rt-mfa');
  minutes(2);
  const forced = await sendAuthnRequest(browser, mfaSp, '', { ...noRequestedContext, forceAuthn: true });
  const code = await browser.submit(forced, { username: 'rt-mfa', password: PASSWORD });
  assert.ok(isCodePage(code), `expected the code page, got ${code.status} ${code.url}`);
  assert.deepEqual(assertionOf(await browser.submit(code, { code: oathtoolTotp(secret, now) })), { classRef: ACR.mfa, authnInstant: now });
});

test('max_age at the MFA client, older than the code: password and code again, with a new auth_time', async () => {
  const browser = rpAndSpBrowser();
  const { secret } = await signInWithMfa(browser, 'rt-max-age');
  minutes(10);
  const request = await authRequest(mfaClient, { max_age: '300' });
  const login = await browser.get(request.url.toString());
  assert.ok(isPasswordPage(login));
  const code = await browser.submit(login, { username: 'rt-max-age', password: PASSWORD });
  assert.ok(isCodePage(code), `expected the code page, got ${code.status} ${code.url}`);
  const tokens = await redeem(mfaClient, request, callbackOf(mfaClient, await browser.submit(code, { code: oathtoolTotp(secret, now) })));
  assert.equal(tokens.claims()!.acr, ACR.mfa);
  assert.equal(tokens.claims()!.auth_time, Math.floor(now / 1000));
});

test('the security settings page, after its 10 minutes: password and code again (a kept code is not a new one)', async () => {
  const browser = rpAndSpBrowser();
  const { secret } = await signInWithMfa(browser, 'rt-account');
  minutes(11);
  const login = await browser.get(`${app.url}/account/security`);
  assert.ok(isPasswordPage(login));
  const code = await browser.submit(login, { username: 'rt-account', password: PASSWORD });
  assert.ok(isCodePage(code), `expected the code page, got ${code.status} ${code.url}`);
  assert.match((await browser.submit(code, { code: oathtoolTotp(secret, now) })).body, /My security settings/);
});
