import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { ALL_SCOPES, authRequest, callbackOf, createRp, createUser, redeem, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { clientRegistry } from '../../src/oidc/client-registry.ts';

const PASSWORD = 'correct horse 42';
const PROFILE_CLAIMS = ['name', 'preferred_username', 'email', 'email_verified', 'groups'];
let app: Booted;

before(async () => {
  app = await boot();
  await createUser(app, { username: 'alice', password: PASSWORD, name: 'Alice Doe', email: 'alice@example.org', groups: ['staff'] });
});
after(() => app?.close());

async function allowScopes(rp: TestRp, scopes: string): Promise<void> {
  assert.ok((await clientRegistry(app.services.store, app.services.box, app.services.clock).update(rp.client.id, { scopes: scopes.split(' ') })).ok);
}

/** The userinfo claims an access token gets, as openid-client reads them. */
async function userinfo(rp: TestRp, accessToken: string, sub: string): Promise<string[]> {
  return Object.keys(await oidc.fetchUserInfo(rp.config, accessToken, sub)).sort();
}

const releasedProfileClaims = (claims: object) => PROFILE_CLAIMS.filter((claim) => claim in claims);

test('scopes taken from a client are gone from its next refresh: token scope, ID Token and userinfo', async () => {
  const rp = await createRp(app);
  const { tokens, claims } = await signIn(rp, rpBrowser(), { username: 'alice', password: PASSWORD });
  assert.equal(tokens.scope, ALL_SCOPES);
  assert.deepEqual(releasedProfileClaims(claims), PROFILE_CLAIMS);

  await allowScopes(rp, 'openid');
  const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  assert.equal(refreshed.scope, 'openid');
  assert.deepEqual(releasedProfileClaims(refreshed.claims()!), [], 'the refreshed ID Token carries no profile, email or groups');
  assert.deepEqual(await userinfo(rp, refreshed.access_token, claims.sub), ['sub']);
  assert.deepEqual(await userinfo(rp, tokens.access_token, claims.sub), ['sub'], 'nor does userinfo with an access token issued before');

  const asked = await oidc.refreshTokenGrant(rp.config, refreshed.refresh_token!, { scope: 'openid groups' });
  assert.equal(asked.scope, 'openid', 'asking for a removed scope by name gets no more');

  await allowScopes(rp, ALL_SCOPES);
  const restored = await oidc.refreshTokenGrant(rp.config, asked.refresh_token!);
  assert.equal(restored.scope, ALL_SCOPES, 'given back, the scopes the refresh token was issued with come back');
});

test('a sign-in under way when a scope is taken away gets only the scopes the client has now', async () => {
  const rp = await createRp(app);
  const browser = rpBrowser();
  // An earlier sign-in through the same browser: the grant that the next one reuses holds every scope.
  await signIn(rp, browser, { username: 'alice', password: PASSWORD });
  const request = await authRequest(rp, { scope: ALL_SCOPES, prompt: 'login' });
  const passwordPage = await browser.get(request.url.toString());
  await allowScopes(rp, 'openid email');

  const tokens = await redeem(rp, request, callbackOf(rp, await browser.submit(passwordPage, { username: 'alice', password: PASSWORD })));
  assert.equal(tokens.scope, 'openid email');
  assert.deepEqual(releasedProfileClaims(tokens.claims()!), ['email', 'email_verified']);
  assert.deepEqual(await userinfo(rp, tokens.access_token, tokens.claims()!.sub), ['email', 'email_verified', 'sub']);
});

test('a code issued before a scope is taken away yields tokens without it', async () => {
  const rp = await createRp(app);
  const browser = rpBrowser();
  const request = await authRequest(rp, { scope: ALL_SCOPES });
  const callback = callbackOf(rp, await browser.submit(await browser.get(request.url.toString()), { username: 'alice', password: PASSWORD }));
  await allowScopes(rp, 'openid profile');

  const tokens = await redeem(rp, request, callback);
  assert.equal(tokens.scope, 'openid profile');
  assert.deepEqual(releasedProfileClaims(tokens.claims()!), ['name', 'preferred_username']);
});
