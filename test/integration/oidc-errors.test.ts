import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import type { Page, TestBrowser } from '../helpers/browser.ts';
import { ALL_SCOPES, authRequest, callbackOf, createRp, createUser, isPasswordPage, redeem, rpBrowser, signIn, stored, type TestRp } from '../helpers/oidc-rp.ts';

const ALICE = { username: 'alice', password: 'correct horse 1' };
const CODE_TTL_SECONDS = 2;
let app: Booted;
let aliceId: string;
let rp: TestRp;
let publicRp: TestRp;

before(async () => {
  app = await boot({ oidc: { authorizationCodeTtlSeconds: CODE_TTL_SECONDS } });
  aliceId = await createUser(app, { ...ALICE });
  rp = await createRp(app);
  publicRp = await createRp(app, { public: true });
});
after(async () => {
  await app?.close();
});

/** Everything a refused request must not have written: provider sessions, grants, tokens, and the browser's cookies. */
async function snapshot(browser?: TestBrowser): Promise<Record<string, unknown>> {
  const counts: Record<string, unknown> = {};
  for (const model of ['Session', 'Grant', 'AccessToken', 'RefreshToken', 'AuthorizationCode', 'Interaction']) counts[model] = await stored(app, model);
  counts.ssoSessions = await app.services.store.kv.count('sso-session');
  if (browser) counts.cookies = [...(browser.cookies.get(new URL(app.url).host)?.keys() ?? [])].sort();
  return counts;
}

function logged(event: string, error: string, since: number): Record<string, unknown> | undefined {
  return app.logs.slice(since).find((line) => line.event === event && line.error === error);
}

/** An authorization request URL built by hand, for what openid-client would refuse to build. */
function authUrl(params: Record<string, string>): string {
  return `${app.url}/oidc/auth?${new URLSearchParams({ response_type: 'code', scope: ALL_SCOPES, state: 's', nonce: 'n', ...params })}`;
}

test('unknown client_id: an error page, no redirect, a log line, nothing written', async () => {
  const browser = rpBrowser();
  const before = await snapshot(browser);
  const mark = app.logs.length;
  const page = await browser.get(authUrl({ client_id: 'no-such-client', redirect_uri: rp.redirectUri, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }));
  assert.equal(page.status, 400);
  assert.equal(page.headers.get('location'), null);
  assert.match(page.body, /not registered/);
  assert.match(page.body, /invalid_client/);
  assert.doesNotMatch(page.body, /at .*\.js:\d+/, 'no stack trace');
  const line = logged('authorization.error', 'invalid_client', mark);
  assert.ok(line, 'logged');
  assert.equal(line.clientId, 'no-such-client');
  assert.ok(typeof line.reqId === 'string' && page.body.includes(line.reqId), 'the page shows the logged request id');
  assert.deepEqual(await snapshot(browser), before);
});

test('unregistered redirect_uri: an error page, never a redirect to it, nothing written', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  const before = await snapshot(browser);
  const mark = app.logs.length;
  const evil = 'https://attacker.example/steal';
  const page = await browser.get(authUrl({ client_id: rp.client.id, redirect_uri: evil, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }));
  assert.equal(page.status, 400);
  assert.equal(page.headers.get('location'), null);
  assert.ok(!browser.history.some((url) => url.startsWith(evil)));
  assert.match(page.body, /invalid_redirect_uri/);
  assert.ok(logged('authorization.error', 'invalid_redirect_uri', mark));
  assert.deepEqual(await snapshot(browser), before);
});

test('PKCE verifier mismatch: invalid_grant, logged, no token issued', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  const request = await authRequest(rp);
  const callback = callbackOf(rp, await browser.get(request.url.toString()));
  const before = await snapshot();
  const mark = app.logs.length;
  await assert.rejects(redeem(rp, { ...request, verifier: oidc.randomPKCECodeVerifier() }, callback), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
  assert.ok(logged('grant.error', 'invalid_grant', mark));
  const after = await snapshot();
  assert.deepEqual({ ...after, AuthorizationCode: before.AuthorizationCode }, before, 'no token written');
});

test('a public client without PKCE, or with plain PKCE, is refused before any sign-in', async () => {
  const cases: Array<Record<string, string>> = [{}, { code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }];
  for (const pkce of cases) {
    const browser = rpBrowser();
    const before = await snapshot(browser);
    const mark = app.logs.length;
    const page = await browser.get(authUrl({ client_id: publicRp.client.id, redirect_uri: publicRp.redirectUri, ...pkce }));
    assert.ok(!isPasswordPage(page));
    const callback = callbackOf(publicRp, page);
    assert.equal(callback.searchParams.get('error'), 'invalid_request', JSON.stringify(pkce));
    assert.equal(callback.searchParams.get('state'), 's');
    assert.ok(logged('authorization.error', 'invalid_request', mark));
    assert.deepEqual(await snapshot(browser), before);
  }
});

test('a tampered code and an expired code are invalid_grant', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  const tampered = await authRequest(rp);
  const callback = callbackOf(rp, await browser.get(tampered.url.toString()));
  callback.searchParams.set('code', `${callback.searchParams.get('code')!.slice(0, -2)}xy`);
  const late = await authRequest(rp);
  const lateCallback = callbackOf(rp, await browser.get(late.url.toString()));
  const before = await snapshot();
  const mark = app.logs.length;
  await assert.rejects(redeem(rp, tampered, callback), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
  assert.ok(logged('grant.error', 'invalid_grant', mark));

  // Waits out the code's real lifetime, not boot's injected clock: oidc-provider judges expiry
  // (BaseModel#isExpired: exp <= epochTime()) by its own Date.now(), which no Stepgate clock reaches.
  // Moving an injected clock would only make Stepgate's store drop the code (its TTL) and leave
  // oidc-provider's own check out. CODE_TTL_SECONDS is 2 so the wait stays short.
  await sleep(CODE_TTL_SECONDS * 1000 + 200);
  const lateMark = app.logs.length;
  await assert.rejects(redeem(rp, late, lateCallback), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
  assert.ok(logged('grant.error', 'invalid_grant', lateMark));
  const after = await snapshot();
  assert.deepEqual({ ...after, AuthorizationCode: before.AuthorizationCode }, before, 'no token written');
});

test('a code used twice: the second use fails and revokes what the first one issued', async () => {
  const browser = rpBrowser();
  const first = await signIn(rp, browser, ALICE);
  assert.equal(first.claims.sub, aliceId);
  const request = await authRequest(rp);
  const callback = callbackOf(rp, await browser.get(request.url.toString()));
  const tokens = await redeem(rp, request, callback);
  const mark = app.logs.length;
  await assert.rejects(redeem(rp, request, callback), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
  assert.ok(logged('grant.error', 'invalid_grant', mark));
  await assert.rejects(oidc.fetchUserInfo(rp.config, tokens.access_token, aliceId));
  await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
});

test('a removed client stops working at once', async () => {
  const doomed = await createRp(app);
  const { tokens } = await signIn(doomed, rpBrowser(), ALICE);
  await app.services.store.collection('oidc-clients').remove(doomed.client.id);
  await assert.rejects(oidc.refreshTokenGrant(doomed.config, tokens.refresh_token!));
  await assert.rejects(oidc.fetchUserInfo(doomed.config, tokens.access_token, aliceId));
});

test('interaction URLs are not pages (the sign-in answers the authorization request itself); unknown /oidc/ paths get the HTML 404', async () => {
  for (const path of ['/oidc/interaction/not-a-real-uid', '/oidc/nothing-here']) {
    const page = await rpBrowser().get(`${app.url}${path}`);
    assert.equal(page.status, 404, path);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/, path);
  }
});

/**
 * A client's auto-submitting form, posted cross-site: the browser sends none of Stepgate's
 * SameSite=Lax cookies with it (so it is sent here without any), but does with the GET it is sent on to.
 */
async function crossSitePost(browser: TestBrowser, url: URL): Promise<Page> {
  const response = await fetch(`${url.origin}${url.pathname}`, { method: 'POST', body: url.searchParams, redirect: 'manual' });
  assert.equal(response.status, 303, await response.text());
  assert.deepEqual(response.headers.getSetCookie(), [], 'the POST answer depends on no cookie and sets none');
  const location = new URL(response.headers.get('location')!, url);
  assert.equal(location.pathname, url.pathname);
  return browser.get(location.toString());
}

test('authorization request by form POST (OIDC Core 3.1.2.1): a sign-in, then SSO though the POST carries no cookie', async () => {
  const browser = rpBrowser();
  const first = await authRequest(rp);
  const login = await crossSitePost(browser, first.url);
  assert.ok(isPasswordPage(login), `expected the password page, got ${login.status} ${login.url}`);
  const signedIn = await redeem(rp, first, callbackOf(rp, await browser.submit(login, { ...ALICE })));
  assert.equal(signedIn.claims()!.sub, aliceId);
  const second = await authRequest(rp);
  const sso = await redeem(rp, second, callbackOf(rp, await crossSitePost(browser, second.url)));
  assert.equal(sso.claims()!.sub, aliceId, 'the signed-in browser is recognised, no password page');
});

test('end-session by form POST (RP-Initiated Logout 1.0 §2) shows the logout confirmation, which still signs out', async () => {
  const browser = rpBrowser();
  const { tokens } = await signIn(rp, browser, ALICE);
  const url = oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: rp.postLogoutRedirectUri, state: 'bye' });
  const confirm = await crossSitePost(browser, url);
  assert.ok(confirm.status === 200 && /Sign out/.test(confirm.body), `expected the logout confirmation, got ${confirm.status}`);
  const back = (await browser.submit(confirm, { logout: 'yes' })).headers.get('location') ?? '';
  assert.ok(back.startsWith(`${rp.postLogoutRedirectUri}?`) && back.endsWith('state=bye'), back);
  assert.ok(isPasswordPage(await browser.get((await authRequest(rp)).url.toString())), 'signed out');
});

test('a POST to those endpoints (however the router spells them) that is not a form, or too large for the GET it would become, is refused there', async () => {
  const json = await fetch(`${app.url}/oidc/auth`, { method: 'POST', body: '{"client_id":"x"}', headers: { 'content-type': 'application/json', accept: 'text/html' }, redirect: 'manual' });
  assert.equal(json.status, 400);
  const large = await fetch(`${app.url}/oidc/session/end`, { method: 'POST', body: new URLSearchParams({ id_token_hint: 'x'.repeat(9000) }), headers: { accept: 'text/html' }, redirect: 'manual' });
  assert.equal(large.status, 413);
  // As oidc-provider's router takes them: with a trailing slash, the same endpoints.
  for (const path of ['/oidc/auth/', '/oidc/session/end/']) {
    const spelled = await fetch(`${app.url}${path}`, { method: 'POST', body: new URLSearchParams({ id_token_hint: 'x'.repeat(9000) }), headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(spelled.status, 413, path);
  }
});

test('resource indicators and CORS are decided by Stepgate, with no oidc-provider notices outside the JSON log', async () => {
  const printed: string[] = [];
  const original = { info: console.info, warn: console.warn };
  console.info = (...args: unknown[]) => void printed.push(args.join(' '));
  console.warn = (...args: unknown[]) => void printed.push(args.join(' '));
  try {
    const browser = rpBrowser();
    await signIn(rp, browser, ALICE);
    const withResource = await browser.get(authUrl({ client_id: rp.client.id, redirect_uri: rp.redirectUri, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', resource: 'https://api.example.org/' }));
    assert.equal(callbackOf(rp, withResource).searchParams.get('error'), 'invalid_target');

    const spaOrigin = new URL(publicRp.redirectUri).origin;
    const token = (origin: string) => fetch(`${app.url}/oidc/token`, { method: 'POST', headers: { origin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', code: 'nope', client_id: publicRp.client.id, redirect_uri: publicRp.redirectUri, code_verifier: 'x'.repeat(43) }) });
    assert.equal((await token(spaOrigin)).headers.get('access-control-allow-origin'), spaOrigin, 'a public client from its own origin');
    assert.equal((await token('https://elsewhere.example')).headers.get('access-control-allow-origin'), null, 'not from another origin');
  } finally {
    Object.assign(console, original);
  }
  assert.deepEqual(printed.filter((line) => line.includes('oidc-provider')), []);
});
