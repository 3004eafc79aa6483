import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import type { Page, TestBrowser } from '../helpers/browser.ts';
import { authRequest, callbackOf, createRp, createUser, isPasswordPage, redeem, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { ACR } from '../../src/policy/levels.ts';

const ALICE = { username: 'alice', password: 'correct horse 7' };
let now = Date.now();
const clock = { now: () => now };
let app: Booted;
let rp: TestRp;

before(async () => {
  app = await boot({}, { clock });
  await createUser(app, { ...ALICE });
  rp = await createRp(app);
});
after(() => app?.close());

const acrClaim = (acr: unknown) => ({ claims: JSON.stringify({ id_token: { acr } }) });

/** The page an authorization request ends on; a redirect loop makes the browser give up (20 hops). */
async function authorize(browser: TestBrowser, params: Record<string, string>) {
  const request = await authRequest(rp, params);
  return { request, page: await browser.get(request.url.toString()) };
}

async function signInEvents(): Promise<Array<{ outcome: string; reason?: unknown }>> {
  const { events } = await app.services.store.audit.query({ types: ['oidc.sign-in'], rp: rp.client.id, limit: 500 });
  return events.map((event) => ({ outcome: event.outcome, reason: event.reason }));
}

/** Sets up TOTP on the enrollment page Stepgate shows when the request needs MFA the user does not have yet. */
async function enrollTotp(browser: TestBrowser, page: Page): Promise<Page> {
  assert.match(page.body, /Set up your authenticator app/, `expected the enrollment page, got ${page.status} ${page.url}`);
  const secret = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.body)![1]!.replace(/ /g, '');
  const codes = await browser.submit(page, { code: oathtoolTotp(secret, now) });
  assert.match(codes.body, /Your backup codes/);
  return browser.submit(codes, {});
}

test('essential acr requests no sign-in can satisfy: invalid_request at the redirect URI, before any page, audited as that refusal only', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  const audited = (await signInEvents()).length;
  const shapes = [
    { essential: true, value: [ACR.mfa] },
    { essential: true, value: 1 },
    { essential: 'true', value: { acr: ACR.mfa } },
    { essential: true, values: [] },
    { essential: true, values: [1, true] },
    { essential: true, values: ACR.mfa },
    { essential: true, value: ACR.mfa, values: [ACR.password] },
  ];
  for (const shape of shapes) {
    const { request, page } = await authorize(browser, acrClaim(shape));
    const callback = callbackOf(rp, page);
    assert.equal(callback.searchParams.get('error'), 'invalid_request', JSON.stringify(shape));
    assert.match(callback.searchParams.get('error_description') ?? '', /claims\.id_token\.acr/, JSON.stringify(shape));
    assert.equal(callback.searchParams.get('state'), request.state);
  }
  const refusal = { outcome: 'failure', reason: 'invalid_request' };
  assert.deepEqual((await signInEvents()).slice(audited), shapes.map(() => refusal), 'no sign-in was attempted: one refused request each');
});

test('an essential acr Stepgate never issues: unmet_authentication_requirements at the redirect URI, before the password page', async () => {
  const audited = (await signInEvents()).length;
  const unknown = [{ essential: true, value: 'urn:example:acr:loa4' }, { essential: true, values: ['urn:example:acr:loa3', 'urn:example:acr:loa4'] }];
  for (const shape of unknown) {
    // A browser without a session: before the fix it was shown the password page, and refused only after it.
    const { request, page } = await authorize(rpBrowser(), acrClaim(shape));
    assert.ok(!isPasswordPage(page), `no password is asked for a request no sign-in can satisfy: ${JSON.stringify(shape)}`);
    const callback = callbackOf(rp, page);
    assert.equal(callback.searchParams.get('error'), 'unmet_authentication_requirements', JSON.stringify(shape));
    assert.match(callback.searchParams.get('error_description') ?? '', /claims\.id_token\.acr/);
    assert.equal(callback.searchParams.get('state'), request.state);
  }
  const refusal = { outcome: 'failure', reason: 'unmet_authentication_requirements' };
  assert.deepEqual((await signInEvents()).slice(audited), unknown.map(() => refusal), 'one refused request each, nobody signed in');
  // One level Stepgate issues among unknown ones is a request it can meet: the sign-in goes on.
  const { page } = await authorize(rpBrowser(), acrClaim({ essential: true, values: ['urn:example:acr:loa4', ACR.password] }));
  assert.ok(isPasswordPage(page));
});

test('any truthy essential is essential, as oidc-provider reads it: a password session is asked for MFA, then granted it', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  const before = await signInEvents();
  // essential "true" (a string): oidc-provider holds the request to the acr, so Stepgate does too.
  const { request, page } = await authorize(browser, acrClaim({ essential: 'true', value: ACR.mfa }));
  const done = await enrollTotp(browser, page);
  assert.equal((await redeem(rp, request, callbackOf(rp, done))).claims()!.acr, ACR.mfa);
  // essential 1, and an array of values: the MFA session has it, no page.
  for (const acr of [{ essential: 1, value: ACR.mfa }, { essential: true, values: [ACR.mfa] }, { essential: true, values: [ACR.password, ACR.mfa], value: ACR.mfa }]) {
    const silent = await authorize(browser, acrClaim(acr));
    const granted = (await redeem(rp, silent.request, callbackOf(rp, silent.page))).claims()!;
    assert.equal(granted.acr, ACR.mfa, JSON.stringify(acr));
  }
  // The later ones are answered by oidc-provider's session alone, without a pass through Stepgate's
  // sign-in: audited as the session's reuse.
  const reuse = { outcome: 'success', reason: 'sso-reuse' };
  assert.deepEqual((await signInEvents()).slice(before.length), [{ outcome: 'success', reason: undefined }, reuse, reuse, reuse], 'one sign-in, then three codes from its session');
  const { events } = await app.services.store.audit.query({ types: ['oidc.sign-in'], rp: rp.client.id, outcome: 'success', limit: 500 });
  assert.equal(events.at(-1)!.username, ALICE.username, 'the success names the user');
});

test('shapes oidc-provider does not hold to an acr: no requirement, a normal sign-in', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  for (const acr of [{ essential: false, value: [ACR.mfa] }, { essential: true, value: '' }, { essential: 0, values: 'x' }, { value: ACR.mfa }]) {
    const { request, page } = await authorize(browser, acrClaim(acr));
    assert.ok(!isPasswordPage(page), JSON.stringify(acr));
    assert.equal((await redeem(rp, request, callbackOf(rp, page))).claims()!.acr, ACR.password, JSON.stringify(acr));
  }
});

test('a login oidc-provider refuses is not handed to it again: the request ends with an error, and only the refusal is audited', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  const before = await signInEvents();
  // The client insists on another subject: oidc-provider refuses alice's login, round after round.
  const { page } = await authorize(browser, { claims: JSON.stringify({ id_token: { sub: { value: 'someone-else' } } }) });
  assert.ok(isPasswordPage(page), 'a re-authentication is asked for');
  const again = await browser.submit(page, { ...ALICE });
  assert.ok(isPasswordPage(again), 'oidc-provider refused the login and asks again');
  // A fresh password later: still alice at the same level, which oidc-provider would refuse again.
  now += 5_000;
  const end = await browser.submit(again, { ...ALICE });
  assert.equal(callbackOf(rp, end).searchParams.get('error'), 'login_required');
  assert.deepEqual((await signInEvents()).slice(before.length), [{ outcome: 'failure', reason: 'login_required' }], 'no success for a login oidc-provider refused');
  assert.ok(app.logs.some((line) => line.code === 'OIDC_LOGIN_REFUSED_AGAIN'));
});
