import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { authRequest, callbackOf, createRp, createUser, isPasswordPage, redeem, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { TestSp, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import type { TestBrowser } from '../helpers/browser.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { ACR } from '../../src/policy/levels.ts';

/**
 * OIDC Core 3.1.2.1: prompt=none succeeds when no page is needed. A client signed in with a password
 * whose user then stepped up with TOTP at a SAML SP: Stepgate's session holds MFA, oidc-provider's copy
 * of it still says password, and prompt=none must follow Stepgate's session (as a request without
 * prompt=none does, silently), not answer login_required.
 */
const PASSWORD = 'correct horse 42';
let now = Date.now();
const clock = { now: () => now };
let app: Booted;
let client: TestRp;
let sp: TestSp;
let secret: string;

before(async () => {
  app = await boot({}, { clock });
  await createUser(app, { username: 'alice', password: PASSWORD });
  const user = (await app.services.directory.findUser('alice'))!;
  const enrollment = app.services.mfa.totp.enrollment;
  secret = (await enrollment.begin({ user, sessionId: 'setup' })).secret;
  now += 30_000;
  await enrollment.finish({ user, sessionId: 'setup', ip: '127.0.0.1' }, oathtoolTotp(secret, now));
  client = await createRp(app, { policy: 'permit-everyone' });
  sp = await TestSp.create(app, { name: 'mfa-sp', register: { policy: 'permit-everyone-require-mfa' } });
});
after(() => app?.close());

/** Password at the client, then the TOTP step-up at the SAML SP, whose response node-saml accepts. */
async function steppedUpAtSamlSp(): Promise<TestBrowser> {
  const browser = rpBrowser();
  assert.equal((await signIn(client, browser, { username: 'alice', password: PASSWORD })).claims.acr, ACR.password);
  const codePage = await sendAuthnRequest(browser, sp, '', { disableRequestedAuthnContext: true });
  assert.match(codePage.body, /Enter your code/);
  now += 30_000;
  const answer = await browser.submit(codePage, { code: oathtoolTotp(secret, now) });
  // The IdP's clock runs ahead of real time here (codes are single use, so the test moves it on).
  const { profile } = await sp.client({ acceptedClockSkewMs: 10 * 60_000 }).validatePostResponseAsync({ SAMLResponse: samlPostForm(answer).fields.SAMLResponse! });
  assert.ok(profile, 'node-saml accepts the stepped-up response');
  return browser;
}

async function silently(browser: TestBrowser, params: Record<string, string> = {}) {
  const request = await authRequest(client, { prompt: 'none', ...params });
  const page = await browser.get(request.url.toString());
  assert.ok(!isPasswordPage(page), 'prompt=none never shows a page');
  const callback = callbackOf(client, page);
  assert.equal(callback.searchParams.get('error'), null, `prompt=none answered ${callback.searchParams.get('error')}`);
  return (await redeem(client, request, callback)).claims()!;
}

test('prompt=none after a step-up at a SAML SP: a code with the MFA the session now holds', async () => {
  const browser = await steppedUpAtSamlSp();
  const claims = await silently(browser);
  assert.equal(claims.acr, ACR.mfa);
  assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
  assert.equal((await silently(browser)).acr, ACR.mfa, 'and again, from the provider session now in step');
});

test('prompt=none with an essential acr the stepped-up session satisfies: a code, not login_required', async () => {
  const browser = await steppedUpAtSamlSp();
  const claims = await silently(browser, { claims: JSON.stringify({ id_token: { acr: { essential: true, value: ACR.mfa } } }) });
  assert.equal(claims.acr, ACR.mfa);
});
