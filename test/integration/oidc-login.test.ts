import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { authRequest, callbackOf, createRp, createUser, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { ACR, ACR_LEVELS } from '../../src/policy/levels.ts';

const ALICE = { username: 'alice', password: 'correct horse 1' };
let app: Booted;
let aliceId: string;
let confidential: TestRp;

before(async () => {
  app = await boot();
  aliceId = await createUser(app, { ...ALICE, name: 'Alice Liddell', email: 'alice@example.org', groups: ['staff', 'wonderland'] });
  confidential = await createRp(app);
});
after(async () => {
  await app?.close();
});

test('discovery names the issuer, endpoints under /oidc/, RS256+ES256, S256 only and our acr values', async () => {
  const meta = confidential.config.serverMetadata();
  assert.equal(meta.issuer, app.url);
  for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint', 'revocation_endpoint', 'introspection_endpoint'] as const) {
    assert.ok(String(meta[endpoint]).startsWith(`${app.url}/oidc/`), `${endpoint}: ${meta[endpoint]}`);
  }
  assert.equal(meta.authorization_endpoint, `${app.url}/oidc/auth`);
  assert.equal(meta.userinfo_endpoint, `${app.url}/oidc/me`);
  assert.deepEqual([...(meta.id_token_signing_alg_values_supported ?? [])].sort(), ['ES256', 'RS256']);
  assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
  assert.deepEqual(meta.acr_values_supported, [...ACR_LEVELS]);
  assert.deepEqual(meta.response_types_supported, ['code']);
  assert.deepEqual([...(meta.scopes_supported ?? [])].sort(), ['email', 'groups', 'openid', 'profile']);
  assert.ok(!meta.token_endpoint_auth_methods_supported?.includes('private_key_jwt'));
});

test('discovery names the client authentication of revocation and introspection as accepted there (RFC 8414: omitted means client_secret_basic only)', async () => {
  const meta = confidential.config.serverMetadata();
  for (const field of ['revocation_endpoint_auth_methods_supported', 'introspection_endpoint_auth_methods_supported'] as const) {
    assert.deepEqual(meta[field], meta.token_endpoint_auth_methods_supported, field);
  }
  const postRp = await createRp(app, { authMethod: 'client_secret_post' });
  const publicRp = await createRp(app, { public: true });
  const browser = rpBrowser();
  await signIn(confidential, browser, ALICE);
  const post = (endpoint: string, body: Record<string, string>) => fetch(endpoint, { method: 'POST', body: new URLSearchParams(body) });
  for (const [rp, credentials] of [
    [postRp, { client_id: postRp.client.id, client_secret: postRp.secret! }],
    [publicRp, { client_id: publicRp.client.id }],
  ] as const) {
    const { tokens } = await signIn(rp, browser, undefined);
    const introspection = await post(meta.introspection_endpoint!, { token: tokens.access_token, ...credentials });
    assert.equal(((await introspection.json()) as { active: boolean }).active, true, `${rp.client.tokenEndpointAuthMethod} at introspection`);
    assert.equal((await post(meta.revocation_endpoint!, { token: tokens.refresh_token!, ...credentials })).status, 200, `${rp.client.tokenEndpointAuthMethod} at revocation`);
    await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant', 'revoked');
  }
});

test('JWKS publishes every signing key (RS256 and ES256), public parts only', async () => {
  const jwks = (await (await fetch(`${app.url}/oidc/jwks`)).json()) as { keys: Array<Record<string, string>> };
  const stored = await app.services.keys.all();
  assert.deepEqual(jwks.keys.map((key) => key.kid).sort(), stored.map((key) => key.id).sort());
  assert.deepEqual(jwks.keys.map((key) => key.alg).sort(), ['ES256', 'RS256']);
  for (const key of jwks.keys) assert.equal(key.d, undefined, 'no private key material');
});

test('confidential client: code + PKCE, ID Token verified, claims by the one mapping, sub is the stable id', async () => {
  const before = Math.floor(Date.now() / 1000);
  const { claims, tokens } = await signIn(confidential, rpBrowser(), ALICE);
  assert.equal(claims.sub, aliceId);
  assert.notEqual(claims.sub, ALICE.username);
  assert.equal(claims.name, 'Alice Liddell');
  assert.equal(claims.preferred_username, 'alice');
  assert.equal(claims.email, 'alice@example.org');
  assert.deepEqual(claims.groups, ['staff', 'wonderland']);
  assert.equal(claims.acr, ACR.password);
  assert.deepEqual(claims.amr, ['pwd']);
  assert.ok(typeof claims.auth_time === 'number' && claims.auth_time >= before - 1 && claims.auth_time <= Math.ceil(Date.now() / 1000));
  assert.equal(tokens.scope, 'openid profile email groups');
  assert.ok(tokens.refresh_token, 'a refresh token is issued');
  assert.equal((tokens.id_token ?? '').split('.').length, 3);
  assert.equal(JSON.parse(Buffer.from(tokens.id_token!.split('.')[0]!, 'base64url').toString()).alg, 'RS256');

  const userinfo = await oidc.fetchUserInfo(confidential.config, tokens.access_token, aliceId);
  assert.deepEqual({ sub: userinfo.sub, name: userinfo.name, email: userinfo.email, groups: userinfo.groups, preferred_username: userinfo.preferred_username }, { sub: aliceId, name: 'Alice Liddell', email: 'alice@example.org', groups: ['staff', 'wonderland'], preferred_username: 'alice' });
});

test('public client (client_secret none) with PKCE, and an ES256 client', async () => {
  const publicRp = await createRp(app, { public: true });
  assert.equal(publicRp.secret, undefined);
  const first = await signIn(publicRp, rpBrowser(), ALICE);
  assert.equal(first.claims.sub, aliceId);

  const es256 = await createRp(app, { idTokenAlg: 'ES256' });
  const second = await signIn(es256, rpBrowser(), ALICE);
  assert.equal(second.claims.sub, aliceId);
  assert.equal(JSON.parse(Buffer.from(second.tokens.id_token!.split('.')[0]!, 'base64url').toString()).alg, 'ES256');
});

test('claims follow the scopes: openid alone releases no profile, email or groups', async () => {
  const browser = rpBrowser();
  const narrow = await signIn(confidential, browser, ALICE, { scope: 'openid' });
  assert.equal(narrow.claims.sub, aliceId);
  for (const claim of ['name', 'email', 'preferred_username', 'groups']) assert.equal(narrow.claims[claim], undefined, claim);
  const userinfo = await oidc.fetchUserInfo(confidential.config, narrow.tokens.access_token, aliceId);
  assert.deepEqual(Object.keys(userinfo), ['sub']);

  const email = await signIn(confidential, browser, undefined, { scope: 'openid email' });
  assert.equal(email.claims.email, 'alice@example.org');
  assert.equal(email.claims.groups, undefined);
});

test('a client limited to some scopes cannot ask for others, not even through the claims parameter', async () => {
  const limited = await createRp(app, { scopes: ['openid', 'profile'] });
  const browser = rpBrowser();
  const refused = await browser.get((await authRequest(limited, { scope: 'openid email' })).url.toString());
  assert.equal(callbackOf(limited, refused).searchParams.get('error'), 'invalid_scope');
  const { claims } = await signIn(limited, browser, ALICE, { scope: 'openid profile', claims: JSON.stringify({ id_token: { email: null, groups: null } }) });
  assert.equal(claims.name, 'Alice Liddell');
  assert.equal(claims.email, undefined);
  assert.equal(claims.groups, undefined);
});

test('SSO: a second client signs in without a password, same sub and auth_time', async () => {
  const browser = rpBrowser();
  const first = await signIn(confidential, browser, ALICE);
  const other = await createRp(app);
  const second = await signIn(other, browser, undefined);
  assert.equal(second.claims.sub, first.claims.sub);
  assert.equal(second.claims.auth_time, first.claims.auth_time);
  // And sub is the same in a brand-new sign-in (another browser).
  const third = await signIn(other, rpBrowser(), ALICE);
  assert.equal(third.claims.sub, aliceId);
});

test('every code issued is audited, also when an existing session answers without a page (prompt=none, SSO reuse)', async () => {
  const browser = rpBrowser();
  const accountPage = await browser.get(`${app.url}/account/security`);
  assert.match((await browser.submit(accountPage, ALICE)).body, /My security settings/, 'signed in to Stepgate, not yet to any client');
  const other = await createRp(app);
  const events = async () => (await app.services.store.audit.query({ types: ['oidc.sign-in'], rp: other.client.id, limit: 10 })).events;
  const silent = callbackOf(other, await browser.get((await authRequest(other, { prompt: 'none' })).url.toString()));
  assert.ok(silent.searchParams.get('code'), `a code, got ${silent}`);
  const reused = callbackOf(other, await browser.get((await authRequest(other)).url.toString()));
  assert.ok(reused.searchParams.get('code'), `a code, got ${reused}`);
  const audited = await events();
  assert.equal(audited.length, 2, JSON.stringify(audited));
  for (const event of audited) {
    assert.deepEqual([event.outcome, event.reason, event.userId, event.username], ['success', 'sso-reuse', aliceId, 'alice']);
  }
});

test('prompt=consent counts as given (clients are first-party); prompt=select_account asks for the password, where another account can be chosen', async () => {
  const browser = rpBrowser();
  const first = await signIn(confidential, browser, ALICE);
  const consented = await signIn(confidential, browser, undefined, { prompt: 'consent' });
  assert.equal(consented.claims.sub, first.claims.sub);
  const bob = { username: 'bob-select', password: 'correct horse 2' };
  const bobId = await createUser(app, bob);
  const chosen = await signIn(confidential, browser, bob, { prompt: 'select_account' });
  assert.equal(chosen.claims.sub, bobId);
  // prompt=none still goes alone (OIDC Core 3.1.2.1).
  const alone = callbackOf(confidential, await browser.get((await authRequest(confidential, { prompt: 'none consent' })).url.toString()));
  assert.equal(alone.searchParams.get('error'), 'invalid_request');
});

test('token responses carry Pragma: no-cache beside Cache-Control: no-store (RFC 6749 5.1)', async () => {
  const { tokens } = await signIn(confidential, rpBrowser(), ALICE);
  const response = await fetch(`${app.url}/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${confidential.client.id}:${confidential.secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  assert.match(response.headers.get('cache-control') ?? '', /no-store/);
  assert.equal(response.headers.get('pragma'), 'no-cache');
});

test('refresh tokens rotate on use; the old one is refused and its reuse revokes the grant', async () => {
  const { tokens } = await signIn(confidential, rpBrowser(), ALICE);
  const refreshed = await oidc.refreshTokenGrant(confidential.config, tokens.refresh_token!);
  assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'a new refresh token');
  assert.equal(refreshed.claims()?.sub, aliceId);
  assert.equal((await oidc.fetchUserInfo(confidential.config, refreshed.access_token, aliceId)).sub, aliceId);

  await assert.rejects(oidc.refreshTokenGrant(confidential.config, tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
  // Reuse is a theft signal: the whole grant is gone, the rotated token too.
  await assert.rejects(oidc.refreshTokenGrant(confidential.config, refreshed.refresh_token), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
  assert.ok(app.logs.some((line) => line.event === 'grant.error' && line.error === 'invalid_grant'));
});

test('revocation ends an access token', async () => {
  const { tokens } = await signIn(confidential, rpBrowser(), ALICE);
  await oidc.tokenRevocation(confidential.config, tokens.access_token);
  await assert.rejects(oidc.fetchUserInfo(confidential.config, tokens.access_token, aliceId));
});


test('login_hint pre-fills the username on the password page', async () => {
  const page = await rpBrowser().get((await authRequest(confidential, { login_hint: 'alice' })).url.toString());
  assert.match(page.body, /name="username"[^>]*value="alice"|value="alice"[^>]*name="username"/);
});

test('form_post response mode: the auto-submitting page is allowed by a script hash, nothing else', async () => {
  const browser = rpBrowser();
  await signIn(confidential, browser, ALICE);
  const page = await browser.get((await authRequest(confidential, { response_mode: 'form_post' })).url.toString());
  assert.equal(page.status, 200);
  assert.match(page.body, new RegExp(`action="${confidential.redirectUri}"`));
  assert.match(page.body, /name="code"/);
  assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self' 'sha256-[^']+'/);
});

test('acr: an essential acr the session has is granted; one it lacks needs Stepgate (MFA), never a silent downgrade', async () => {
  const browser = rpBrowser();
  const essential = (value: string) => ({ claims: JSON.stringify({ id_token: { acr: { essential: true, value } } }) });
  const { claims } = await signIn(confidential, browser, ALICE, essential(ACR.password));
  assert.equal(claims.acr, ACR.password);
  const page = await browser.get((await authRequest(confidential, { ...essential(ACR.mfa), prompt: 'none' })).url.toString());
  // A second factor would have to be set up or entered: a page, which prompt=none forbids.
  assert.equal(callbackOf(confidential, page).searchParams.get('error'), 'interaction_required');
});

test("a client's access policy applies to SSO sessions too: prompt=none gets access_denied, no code", async () => {
  const browser = rpBrowser();
  await signIn(confidential, browser, ALICE);
  const closed = await createRp(app, { policy: 'deny-everyone' });
  const passive = await browser.get((await authRequest(closed, { prompt: 'none' })).url.toString());
  assert.equal(callbackOf(closed, passive).searchParams.get('error'), 'access_denied');
  const interactive = await browser.get((await authRequest(closed)).url.toString());
  assert.equal(interactive.status, 403);
  assert.equal(interactive.headers.get('location'), null);
});
