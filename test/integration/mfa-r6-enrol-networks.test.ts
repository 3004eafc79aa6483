import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { authRequest, callbackOf, createRp, createUser, redeem, rpBrowser, type TestRp } from '../helpers/oidc-rp.ts';
import { parseForms, TestBrowser, type Page } from '../helpers/browser.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

const PASSWORD = 'correct horse 42';
let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };
/** Codes are single use: each new code needs a new time step. */
const nextTimeStep = () => void (now += 30_000);
/** The client address as the trusted reverse proxy (127.0.0.1) forwards it. */
const OFFICE = { 'x-forwarded-for': '192.0.2.10' };
const HOME = { 'x-forwarded-for': '198.51.100.7' };
const NOT_FROM_HERE = /a second step can only be set up from your organisation/;
let app: Booted;
let rp: TestRp;

before(async () => {
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] }, trustedNetworks: { office: ['192.0.2.0/24'] }, mfa: { enrollment: { networks: ['office'] } } }, { clock });
  rp = await createRp(app, { policy: 'permit-everyone-require-mfa' });
});
after(() => app?.close());

function shownSecret(page: Page): string {
  const match = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.body);
  assert.ok(match, `expected the TOTP setup page, got ${page.status} ${page.url}\n${page.body.slice(0, 400)}`);
  return match[1]!.replace(/ /g, '');
}

async function enrolledMethods(userId: string): Promise<string[]> {
  return app.services.mfa.registry.enrolledMethods((await app.services.directory.findUserById(userId))!);
}

async function lastAudit(type: string, userId: string) {
  return (await app.services.store.audit.query({ types: [type], user: userId })).events.at(-1);
}

/** This browser's form token, as every form of its pages carries it. */
function csrfOf(page: Page): { _csrf: string } {
  const token = parseForms(page.body, page.url)[0]?.fields._csrf;
  assert.ok(token, `no form token on ${page.url}`);
  return { _csrf: token };
}

/** Signs in to "my security" from `from`, with a code when the user has an app; returns the settings page and the form token. */
async function openAccount(browser: TestBrowser, username: string, from: Record<string, string>, secret?: string): Promise<{ page: Page; csrf: { _csrf: string } }> {
  const login = await browser.get(`${app.url}/account/security`, { headers: from });
  let page = await browser.submit(login, { username, password: PASSWORD }, undefined, from);
  if (secret) page = await browser.submit(page, { code: oathtoolTotp(secret, now) }, undefined, from);
  assert.match(page.body, /My security settings/);
  return { page, csrf: csrfOf(login) };
}

describe('mfa.enrollment.networks: a first second factor is set up only from the configured networks', () => {
  test('sign-in from outside: no setup page; the application gets access_denied; audited with the IP', async () => {
    const hankId = await createUser(app, { username: 'hank', password: PASSWORD });
    const browser = rpBrowser();
    const request = await authRequest(rp);
    const login = await browser.get(request.url.toString(), { headers: HOME });
    const refused = await browser.submit(login, { username: 'hank', password: PASSWORD }, undefined, HOME);
    assert.equal(refused.status, 403);
    assert.match(refused.body, NOT_FROM_HERE);
    assert.doesNotMatch(refused.body, /totp-secret|otpauth/);

    // The setup form's address, posted without ever being shown a setup page, sets nothing up.
    const posted = await browser.request(`${refused.url}/mfa/totp/enroll`, { method: 'POST', body: new URLSearchParams({ ...csrfOf(login), code: '123456' }), headers: HOME });
    assert.match(posted.body, NOT_FROM_HERE);
    assert.deepEqual(await enrolledMethods(hankId), []);

    const back = /<a href="([^"]+\/back)">/.exec(refused.body)?.[1];
    assert.ok(back, 'the refusal offers the way back to the application');
    const callback = callbackOf(rp, await browser.get(new URL(back.replace(/&#x2F;|&#47;/g, '/'), refused.url).toString(), { headers: HOME }));
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    // Audited as the setup's refusal, as on "my security", not as a policy denial.
    const audited = await lastAudit('mfa.enroll', hankId);
    assert.deepEqual([audited?.outcome, audited?.reason, audited?.ip, audited?.rp], ['failure', 'outside-enrollment-networks', '198.51.100.7', rp.client.id]);
    assert.equal(await lastAudit('login.policy', hankId), undefined);
  });

  test('"my security" from outside: no setup page, not even by posting its form; audited as mfa.enroll outside-enrollment-networks', async () => {
    const ivyId = await createUser(app, { username: 'ivy', password: PASSWORD });
    const browser = new TestBrowser();
    const { csrf } = await openAccount(browser, 'ivy', HOME);
    const setup = await browser.get(`${app.url}/account/security/totp`, { headers: HOME });
    assert.equal(setup.status, 403);
    assert.match(setup.body, /<h1>Set up your second step from your organisation&#39;s network<\/h1>/);
    assert.match(setup.body, NOT_FROM_HERE);
    assert.doesNotMatch(setup.body, /totp-secret|otpauth/);

    const posted = await browser.request(`${app.url}/account/security/totp`, { method: 'POST', body: new URLSearchParams({ ...csrf, code: '123456' }), headers: HOME });
    assert.equal(posted.status, 403);
    assert.match(posted.body, NOT_FROM_HERE);
    assert.deepEqual(await enrolledMethods(ivyId), []);
    const audited = await lastAudit('mfa.enroll', ivyId);
    assert.deepEqual([audited?.outcome, audited?.reason, audited?.ip], ['failure', 'outside-enrollment-networks', '198.51.100.7']);
  });

  test('from the office: set up during sign-in; afterwards the user signs in and makes new backup codes from anywhere', async () => {
    const judyId = await createUser(app, { username: 'judy', password: PASSWORD });
    const browser = rpBrowser();
    const request = await authRequest(rp);
    const setup = await browser.submit(await browser.get(request.url.toString(), { headers: OFFICE }), { username: 'judy', password: PASSWORD }, undefined, OFFICE);
    const secret = shownSecret(setup);
    const codes = await browser.submit(setup, { code: oathtoolTotp(secret, now) }, undefined, OFFICE);
    assert.match(codes.body, /Your authenticator app is set up/);
    const tokens = await redeem(rp, request, callbackOf(rp, await browser.submit(codes, {}, undefined, OFFICE)));
    assert.deepEqual(tokens.claims()?.amr, ['pwd', 'otp', 'mfa']);
    assert.deepEqual(await enrolledMethods(judyId), ['totp']);

    nextTimeStep();
    const atHome = new TestBrowser();
    const { page: settings } = await openAccount(atHome, 'judy', HOME, secret);
    assert.match(settings.body, /href="\/account\/security\/backup-codes\/new"/);
    const asked = await atHome.get(`${app.url}/account/security/backup-codes/new`, { headers: HOME });
    const renewed = await atHome.submit(asked, {}, 'backup-codes', HOME);
    assert.match(renewed.body, /New backup codes were made/);
  });

  test('"my security" from the office: the setup page is shown', async () => {
    await createUser(app, { username: 'kim', password: PASSWORD });
    const browser = new TestBrowser();
    await openAccount(browser, 'kim', OFFICE);
    const setup = await browser.get(`${app.url}/account/security/totp`, { headers: OFFICE });
    assert.equal(setup.status, 200);
    shownSecret(setup);
  });
});
