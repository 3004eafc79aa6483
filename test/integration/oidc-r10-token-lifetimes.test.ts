import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { authRequest, callbackOf, createRp, createUser, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { ROUTES } from '../../src/oidc/provider.ts';

/**
 * README "oidc.*TtlSeconds": accessTokenTtlSeconds, idTokenTtlSeconds and refreshTokenTtlSeconds are
 * the lifetimes of what a client gets. Set to values of their own here (none the default), they
 * must show in the token response (expires_in), in the ID Token (exp - iat), at introspection, and in
 * when the server stops accepting the tokens (the services' clock is moved, as in sso-idle-timeout).
 */
const ACCESS_TTL = 600;
const ID_TOKEN_TTL = 900;
const REFRESH_TTL = 1200;
const ALICE = { username: 'alice', password: 'correct horse 1' };
let now = Date.now();
const clock = { now: () => now };
const seconds = (count: number) => void (now += count * 1000);
let app: Booted;
let rp: TestRp;

before(async () => {
  app = await boot(
    { session: { idleTimeoutMinutes: 60, absoluteTimeoutHours: 10 }, oidc: { accessTokenTtlSeconds: ACCESS_TTL, idTokenTtlSeconds: ID_TOKEN_TTL, refreshTokenTtlSeconds: REFRESH_TTL } },
    { clock },
  );
  await createUser(app, ALICE);
  rp = await createRp(app);
});
after(() => app?.close());

const invalidGrant = (error: oidc.ResponseBodyError) => error.error === 'invalid_grant';

async function userinfoStatus(accessToken: string): Promise<number> {
  return (await fetch(`${app.url}${ROUTES.userinfo}`, { headers: { authorization: `Bearer ${accessToken}` } })).status;
}

function assertLifetimes(tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, label: string): void {
  assert.equal(tokens.expires_in, ACCESS_TTL, `${label}: expires_in is accessTokenTtlSeconds`);
  const idToken = tokens.claims()!;
  assert.equal(idToken.exp - idToken.iat, ID_TOKEN_TTL, `${label}: the ID Token lasts idTokenTtlSeconds`);
}

test('the configured lifetimes are what the client is told: expires_in, the ID Token\'s exp - iat, introspection of both tokens', async () => {
  const { tokens } = await signIn(rp, rpBrowser(), ALICE);
  assertLifetimes(tokens, 'code exchange');
  const access = await oidc.tokenIntrospection(rp.config, tokens.access_token);
  assert.equal(access.active, true);
  assert.equal(access.exp! - access.iat!, ACCESS_TTL, 'the access token lasts accessTokenTtlSeconds');
  const refresh = await oidc.tokenIntrospection(rp.config, tokens.refresh_token!);
  assert.equal(refresh.active, true);
  assert.equal(refresh.exp! - refresh.iat!, REFRESH_TTL, 'the refresh token lasts refreshTokenTtlSeconds');

  const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  assertLifetimes(refreshed, 'refresh');
  const again = await oidc.tokenIntrospection(rp.config, refreshed.access_token);
  assert.equal(again.exp! - again.iat!, ACCESS_TTL);
});

test('the server stops accepting the access token after accessTokenTtlSeconds and the refresh token after refreshTokenTtlSeconds, while the SSO session lives on', async () => {
  const browser = rpBrowser();
  const kept = await signIn(rp, browser, ALICE);
  const unused = await signIn(rp, browser, undefined);

  seconds(ACCESS_TTL - 5);
  assert.equal(await userinfoStatus(kept.tokens.access_token), 200, 'the access token just before its end');
  seconds(10);
  assert.equal(await userinfoStatus(kept.tokens.access_token), 401, 'the access token just after its end');

  seconds(REFRESH_TTL - ACCESS_TTL - 10);
  assert.ok((await oidc.refreshTokenGrant(rp.config, kept.tokens.refresh_token!)).access_token, 'a refresh token just before its end');
  seconds(10);
  await assert.rejects(oidc.refreshTokenGrant(rp.config, unused.tokens.refresh_token!), invalidGrant, 'a refresh token just after its end');

  const silent = callbackOf(rp, await browser.get((await authRequest(rp, { prompt: 'none' })).url.toString()));
  assert.ok(silent.searchParams.get('code'), `the SSO session still answers: ${silent}`);
});
