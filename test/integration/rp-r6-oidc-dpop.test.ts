import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { authRequest, callbackOf, createRp, createUser, isPasswordPage, rpBrowser, type TestRp } from '../helpers/oidc-rp.ts';

/** DPoP (RFC 9449) is a decision, not oidc-provider's default left on: advertised, and the tokens it binds are refused without the key. */
const ALICE = { username: 'alice', password: 'correct horse 1' };
let app: Booted;
let publicRp: TestRp;

before(async () => {
  app = await boot();
  await createUser(app, ALICE);
  publicRp = await createRp(app, { public: true });
});
after(() => app?.close());

test('discovery advertises DPoP', async () => {
  const discovery = (await (await fetch(`${app.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  assert.ok(Array.isArray(discovery.dpop_signing_alg_values_supported) && discovery.dpop_signing_alg_values_supported.includes('ES256'), JSON.stringify(discovery.dpop_signing_alg_values_supported));
});

test("a DPoP-bound access token is refused as Bearer at userinfo; with the client's proof it is accepted, and a public client's refresh needs the key", async () => {
  const dpop = oidc.getDPoPHandle(publicRp.config, await oidc.randomDPoPKeyPair('ES256'));
  const request = await authRequest(publicRp);
  const browser = rpBrowser();
  const passwordPage = await browser.get(request.url.toString());
  assert.ok(isPasswordPage(passwordPage));
  const callback = callbackOf(publicRp, await browser.submit(passwordPage, ALICE));
  const tokens = await oidc.authorizationCodeGrant(publicRp.config, callback, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true }, undefined, { DPoP: dpop });
  assert.equal(tokens.token_type.toLowerCase(), 'dpop');
  const sub = tokens.claims()!.sub;

  const asBearer = await fetch(`${app.url}/oidc/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(asBearer.status, 401);
  assert.match(asBearer.headers.get('www-authenticate') ?? '', /invalid_token/);
  assert.equal((await oidc.fetchUserInfo(publicRp.config, tokens.access_token, sub, { DPoP: dpop })).sub, sub);

  await assert.rejects(oidc.refreshTokenGrant(publicRp.config, tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant', 'without the proof');
  const otherKey = oidc.getDPoPHandle(publicRp.config, await oidc.randomDPoPKeyPair('ES256'));
  await assert.rejects(oidc.refreshTokenGrant(publicRp.config, tokens.refresh_token!, undefined, { DPoP: otherKey }), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant', 'with another key');
  const refreshed = await oidc.refreshTokenGrant(publicRp.config, tokens.refresh_token!, undefined, { DPoP: dpop });
  assert.equal(refreshed.token_type.toLowerCase(), 'dpop');
});
