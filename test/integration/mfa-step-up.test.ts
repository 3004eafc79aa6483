import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import type { Page, TestBrowser } from '../helpers/browser.ts';
import { authRequest, callbackOf, createRp, createUser, isPasswordPage, redeem, rpBrowser, type TestRp } from '../helpers/oidc-rp.ts';
import { TestSp, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { ACR } from '../../src/policy/levels.ts';

const PASSWORD = 'correct horse 42';
let now = Date.now();
const clock = { now: () => now };
/** Each new code of a user needs a new time step (codes are single use). */
const nextTimeStep = () => void (now += 30_000);

const OUTSIDE = { 'x-forwarded-for': '203.0.113.7' };
const OFFICE = { 'x-forwarded-for': '10.1.2.3' };

let app: Booted;

function isEnrollPage(page: Page): boolean {
  return page.status === 200 && /Set up your authenticator app/.test(page.body);
}

function isCodePage(page: Page): boolean {
  return page.status === 200 && /Enter your code/.test(page.body) && /name="code"/.test(page.body);
}

/** Sets up TOTP on the enroll page with a code from oathtool; returns the secret and the page after "continue". */
async function enroll(browser: TestBrowser, page: Page, headers: Record<string, string> = {}): Promise<{ secret: string; codes: string[]; page: Page }> {
  assert.ok(isEnrollPage(page), `expected the enroll page, got ${page.status} ${page.url}\n${page.body.slice(0, 400)}`);
  assert.match(page.body, /<img class="qr" src="data:image\/svg\+xml;base64,/);
  const secret = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.body)![1]!.replace(/ /g, '');
  const wrong = await browser.submit(page, { code: '000000' === oathtoolTotp(secret, now) ? '111111' : '000000' }, undefined, headers);
  assert.equal(wrong.status, 401);
  assert.match(wrong.body, /That code is not correct/);
  const shown = await browser.submit(wrong, { code: oathtoolTotp(secret, now) }, undefined, headers);
  assert.match(shown.body, /Your backup codes/);
  const codes = [...shown.body.matchAll(/<li><code>([a-z2-7]{5}-[a-z2-7]{5})<\/code><\/li>/g)].map((match) => match[1]!);
  assert.equal(codes.length, 10);
  return { secret, codes, page: await browser.submit(shown, {}, undefined, headers) };
}

async function answerCode(browser: TestBrowser, page: Page, secret: string, headers: Record<string, string> = {}): Promise<Page> {
  assert.ok(isCodePage(page), `expected the code page, got ${page.status} ${page.url}\n${page.body.slice(0, 400)}`);
  nextTimeStep();
  return browser.submit(page, { code: oathtoolTotp(secret, now) }, undefined, headers);
}

/** The AuthnContextClassRef of the SAMLResponse on the POST page, after node-saml accepted it. */
async function samlClassRef(sp: TestSp, page: Page): Promise<string> {
  const { fields } = samlPostForm(page);
  // The server's clock runs ahead of real time here (codes are single use, so tests move it on).
  const validated = await sp.client({ acceptedClockSkewMs: 10 * 60_000 }).validatePostResponseAsync({ SAMLResponse: fields.SAMLResponse! });
  assert.ok(validated.profile, 'node-saml accepts the response');
  const xml = Buffer.from(fields.SAMLResponse!, 'base64').toString('utf8');
  return /<saml:AuthnContextClassRef>([^<]+)<\/saml:AuthnContextClassRef>/.exec(xml)![1]!;
}

function samlStatus(page: Page): string {
  const xml = Buffer.from(samlPostForm(page).fields.SAMLResponse!, 'base64').toString('utf8');
  return [...xml.matchAll(/<samlp:StatusCode Value="([^"]+)"/g)].map((match) => match[1]!.split(':').pop()).join('/');
}

async function oidcSignIn(rp: TestRp, browser: TestBrowser, params: Record<string, string>, steps: (page: Page) => Promise<Page>, headers: Record<string, string> = {}) {
  const request = await authRequest(rp, params);
  const last = await steps(await browser.get(request.url.toString(), { headers }));
  const callback = callbackOf(rp, last);
  if (callback.searchParams.get('error')) return { error: callback.searchParams.get('error')!, claims: undefined };
  return { error: undefined, claims: (await redeem(rp, request, callback)).claims()! };
}

before(async () => {
  app = await boot(
    { server: { trustedProxies: ['127.0.0.1/32'] }, trustedNetworks: { office: ['10.0.0.0/8'] }, mfa: { totp: { maxFailures: 3, autoUnlockMinutes: 15 } } },
    { clock },
  );
  await app.services.policies.save({ name: 'staff-only', template: 'permit-specific-groups', parameters: { groups: ['staff'], message: 'Only staff members may use the payroll application.' } });
});
after(() => app?.close());

describe('MFA step-up through the real protocols', () => {
  test('SAML SP with a require-MFA policy: password, TOTP set-up, MFA class; an OIDC app needing only a password reuses the session silently', async () => {
    await createUser(app, { username: 'sam', password: PASSWORD });
    const sp = await TestSp.create(app, { name: 'mfa-sp', register: { policy: 'permit-everyone-require-mfa' } });
    const browser = rpBrowser();
    const login = await sendAuthnRequest(browser, sp, '', { disableRequestedAuthnContext: true });
    assert.ok(isPasswordPage(login));
    const afterPassword = await browser.submit(login, { username: 'sam', password: PASSWORD });
    const { page } = await enroll(browser, afterPassword);
    assert.equal(await samlClassRef(sp, page), ACR.mfa);

    const passwordApp = await createRp(app);
    const silent = await oidcSignIn(passwordApp, browser, {}, async (first) => {
      assert.equal(first.status, 303, 'no page at all: straight back to the client');
      return first;
    });
    assert.equal(silent.claims?.acr, ACR.mfa, 'the session holds MFA and the application accepts any level');
    assert.deepEqual(silent.claims?.amr, ['pwd', 'otp', 'mfa']);

    const sameSp = await sendAuthnRequest(browser, sp, '', { disableRequestedAuthnContext: true });
    assert.equal(await samlClassRef(sp, sameSp), ACR.mfa, 'the fresh MFA is reused: no second prompt');
  });

  test('OIDC client sending acr_values: password, code from the app, acr and amr at MFA level; prompt=login asks both again', async () => {
    await createUser(app, { username: 'olga', password: PASSWORD });
    const rp = await createRp(app);
    const first = rpBrowser();
    let secret = '';
    const enrolled = await oidcSignIn(rp, first, { acr_values: ACR.mfa }, async (page) => {
      const result = await enroll(first, await first.submit(page, { username: 'olga', password: PASSWORD }));
      secret = result.secret;
      return result.page;
    });
    assert.equal(enrolled.claims?.acr, ACR.mfa);

    const browser = rpBrowser();
    const { claims } = await oidcSignIn(rp, browser, { acr_values: ACR.mfa }, async (page) => answerCode(browser, await browser.submit(page, { username: 'olga', password: PASSWORD }), secret));
    assert.equal(claims?.acr, ACR.mfa);
    assert.deepEqual(claims?.amr, ['pwd', 'otp', 'mfa']);

    const again = await oidcSignIn(rp, browser, { acr_values: ACR.mfa, prompt: 'login' }, async (page) => {
      assert.ok(isPasswordPage(page), 'prompt=login asks for the password again');
      return answerCode(browser, await browser.submit(page, { username: 'olga', password: PASSWORD }), secret);
    });
    assert.equal(again.claims?.acr, ACR.mfa);
    assert.ok((again.claims?.auth_time as number) >= (claims?.auth_time as number));
  });

  test('trusted network by client IP through the trusted proxy: no MFA from the office, MFA from outside', async () => {
    await createUser(app, { username: 'tess', password: PASSWORD });
    const sp = await TestSp.create(app, { name: 'office-sp', register: { policy: 'permit-everyone-require-mfa-outside-trusted-networks' } });
    const office = rpBrowser();
    const inside = await office.get((await sp.authnRequest('', { disableRequestedAuthnContext: true })).url, { headers: OFFICE });
    const signedIn = await office.submit(inside, { username: 'tess', password: PASSWORD }, undefined, OFFICE);
    assert.equal(await samlClassRef(sp, signedIn), ACR.password, 'password only from the office network');

    const travelling = rpBrowser();
    const outside = await travelling.get((await sp.authnRequest('', { disableRequestedAuthnContext: true })).url, { headers: OUTSIDE });
    const prompted = await travelling.submit(outside, { username: 'tess', password: PASSWORD }, undefined, OUTSIDE);
    const { page } = await enroll(travelling, prompted, OUTSIDE);
    assert.equal(await samlClassRef(sp, page), ACR.mfa);
  });

  test('a user outside the permitted groups sees the policy message; the client then gets access_denied', async () => {
    await createUser(app, { username: 'greg', password: PASSWORD, groups: ['sales'] });
    const rp = await createRp(app, { policy: 'staff-only' });
    const browser = rpBrowser();
    const result = await oidcSignIn(rp, browser, {}, async (page) => {
      const denied = await browser.submit(page, { username: 'greg', password: PASSWORD });
      assert.equal(denied.status, 403);
      assert.match(denied.body, /Only staff members may use the payroll application\./);
      return browser.get(new URL(/href="([^"]+\/back)"/.exec(denied.body)![1]!, denied.url).toString());
    });
    assert.equal(result.error, 'access_denied');
    const refusals = (await app.services.store.audit.query({ limit: 50 })).events.filter((event) => event.type === 'login.policy' && event.username === 'greg');
    assert.deepEqual(refusals.map((event) => [event.policy, event.rule, event.outcome]), [['staff-only', 'deny everyone else', 'failure']], 'audited once, with the rule');
  });

  test('SAML RequestedAuthnContext: minimum MFA steps up; maximum PPT under a require-MFA policy is NoAuthnContext', async () => {
    await createUser(app, { username: 'rita', password: PASSWORD });
    const open = await TestSp.create(app, { name: 'rac-sp' });
    const browser = rpBrowser();
    const login = await sendAuthnRequest(browser, open, '', { authnContext: [ACR.mfa], racComparison: 'minimum' });
    const { page } = await enroll(browser, await browser.submit(login, { username: 'rita', password: PASSWORD }));
    assert.equal(await samlClassRef(open, page), ACR.mfa);

    const exactPassword = await sendAuthnRequest(browser, open, '', { authnContext: [ACR.password], racComparison: 'exact' });
    assert.equal(await samlClassRef(open, exactPassword), ACR.password, 'exact PPT is reported as PPT, even with MFA in the session');

    const strict = await TestSp.create(app, { name: 'rac-strict-sp', register: { policy: 'permit-everyone-require-mfa' } });
    const refused = await sendAuthnRequest(browser, strict, '', { authnContext: [ACR.password], racComparison: 'maximum' });
    assert.equal(samlStatus(refused), 'Responder/NoAuthnContext');
  });

  test('OIDC essential acr the server cannot give: unmet_authentication_requirements', async () => {
    const rp = await createRp(app);
    const browser = rpBrowser();
    await createUser(app, { username: 'enzo', password: PASSWORD });
    // Refused before any page: no password is asked for a level no sign-in can reach.
    const result = await oidcSignIn(rp, browser, { claims: JSON.stringify({ id_token: { acr: { essential: true, values: ['urn:example:gold'] } } }) }, async (page) => page);
    assert.equal(result.error, 'unmet_authentication_requirements');
  });
});
