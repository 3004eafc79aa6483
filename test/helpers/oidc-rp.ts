import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import type { Booted } from './boot.ts';
import { TestBrowser, type Page } from './browser.ts';
import { clientRegistry, type NewClient, type OidcClientRecord } from '../../src/oidc/client-registry.ts';
import { localUsers } from '../../src/directory/local-users.ts';
import { hashPassword } from '../../src/directory/password-hash.ts';
import { oathtoolTotp } from './oathtool.ts';
import { enrollWithOathtool } from './totp-store.ts';

/** Relying-party callbacks point here: a loopback port nothing listens on; the browser stops before it. */
export const CALLBACK_BASE = 'http://127.0.0.1:9/rp/';

/** A relying party driven by openid-client 6, registered with the CLI's own registry service. */
export interface TestRp {
  client: OidcClientRecord;
  secret?: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
  config: oidc.Configuration;
}

export interface AuthRequest {
  url: URL;
  state: string;
  nonce: string;
  verifier: string;
  maxAge?: number;
}

export const ALL_SCOPES = 'openid profile email groups';

export async function createRp(app: Booted, options: Partial<NewClient> = {}): Promise<TestRp> {
  const tag = randomBytes(6).toString('hex');
  const redirectUri = `${CALLBACK_BASE}${tag}/callback`;
  const postLogoutRedirectUri = `${CALLBACK_BASE}${tag}/signed-out`;
  const added = await clientRegistry(app.services.store, app.services.box, app.services.clock).add({
    name: `RP ${tag}`,
    redirectUris: [redirectUri],
    postLogoutRedirectUris: [postLogoutRedirectUri],
    ...options,
  });
  assert.ok(added.ok, `client registration failed: ${JSON.stringify(added)}`);
  const { client, secret } = added;
  const auth = client.tokenEndpointAuthMethod === 'none' ? oidc.None() : client.tokenEndpointAuthMethod === 'client_secret_post' ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret);
  const config = await oidc.discovery(new URL(app.url), client.id, { id_token_signed_response_alg: client.idTokenSignedResponseAlg }, auth, { execute: [oidc.allowInsecureRequests] });
  return { client, secret, redirectUri, postLogoutRedirectUri, config };
}

/** A browser that stops at relying-party callbacks instead of following them. */
export function rpBrowser(): TestBrowser {
  const browser = new TestBrowser();
  browser.stopAt.push(CALLBACK_BASE);
  return browser;
}

/** Stops at relying-party callbacks and at the test SPs (https://), like the two applications' pages would. */
export function rpAndSpBrowser(): TestBrowser {
  const browser = rpBrowser();
  browser.stopAt.push('https://');
  return browser;
}

export async function authRequest(rp: TestRp, params: Record<string, string> = {}): Promise<AuthRequest> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(rp.config, {
    redirect_uri: rp.redirectUri,
    scope: ALL_SCOPES,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...params,
  });
  return { url, state, nonce, verifier, maxAge: params.max_age === undefined ? undefined : Number(params.max_age) };
}

/** The authorization response the browser was redirected to (the redirect it stopped at). */
export function callbackOf(rp: TestRp, page: Page): URL {
  const location = page.headers.get('location');
  assert.ok(location?.startsWith(rp.redirectUri), `expected a redirect to ${rp.redirectUri}, got ${page.status} ${location ?? page.body.slice(0, 300)}`);
  return new URL(location!);
}

export function isPasswordPage(page: Page): boolean {
  return page.status === 200 && /name="password"/.test(page.body);
}

export const isCodePage = (page: Page) => page.status === 200 && /name="code"/.test(page.body);
export const isEnrollPage = (page: Page) => page.status === 200 && /Set up your authenticator app/.test(page.body);

/** Redeems the code with PKCE; openid-client verifies the ID Token against the JWKS (signature, iss, aud, nonce). */
export function redeem(rp: TestRp, request: AuthRequest, callback: URL): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
  return oidc.authorizationCodeGrant(rp.config, callback, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, maxAge: request.maxAge, idTokenExpected: true });
}

export interface Credentials {
  username: string;
  password: string;
}

/**
 * One authorization: sends the browser, types the password when (and only when) `credentials` are
 * given, and redeems the code. Asserts that the password page appears exactly when expected.
 */
export async function signIn(rp: TestRp, browser: TestBrowser, credentials: Credentials | undefined, params: Record<string, string> = {}) {
  const request = await authRequest(rp, params);
  let page = await browser.get(request.url.toString());
  assert.equal(isPasswordPage(page), credentials !== undefined, credentials ? `expected the password page, got ${page.status} ${page.url}` : `expected SSO without a password page, got ${page.url}`);
  if (credentials) page = await browser.submit(page, { ...credentials });
  const tokens = await redeem(rp, request, callbackOf(rp, page));
  return { tokens, claims: tokens.claims()!, request };
}

/** Creates the user and signs in at `rp` (an application that requires MFA) with the password and a new TOTP made by oathtool at `now`; returns the tokens and the TOTP secret. */
export async function signInSettingUpTotp(app: Booted, rp: TestRp, browser: TestBrowser, credentials: Credentials, now: number) {
  await createUser(app, credentials);
  const request = await authRequest(rp);
  const enrollPage = await browser.submit(await browser.get(request.url.toString()), { ...credentials });
  assert.ok(isEnrollPage(enrollPage), `expected the TOTP setup, got ${enrollPage.status} ${enrollPage.url}`);
  const secret = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(enrollPage.body)![1]!.replace(/ /g, '');
  const codesPage = await browser.submit(enrollPage, { code: oathtoolTotp(secret, now) });
  const tokens = await redeem(rp, request, callbackOf(rp, await browser.submit(codesPage, {})));
  return { tokens, secret };
}

export async function createUser(app: Booted, user: { username: string; password: string; name?: string; email?: string; groups?: string[] }): Promise<string> {
  const id = `u-${randomBytes(8).toString('hex')}`;
  await localUsers(app.services.store).put({
    id,
    username: user.username,
    name: user.name,
    email: user.email,
    groups: user.groups ?? [],
    attributes: {},
    passwordHash: await hashPassword(user.password),
    previousPasswordHashes: [],
    passwordChangedAt: app.services.clock.now(),
    mustChangePassword: false,
    disabled: false,
    oneTimeUse: false,
    createdAt: app.services.clock.now(),
  });
  return id;
}

/** A local user with TOTP set up as of `now` (codes from oathtool): the user's id and TOTP secret. */
export async function createUserWithTotp(app: Booted, user: Parameters<typeof createUser>[1], now: number): Promise<{ id: string; secret: string }> {
  const id = await createUser(app, user);
  const { secret } = await enrollWithOathtool(app.services.mfa.totp, (await app.services.directory.findUserById(id))!, now);
  return { id, secret };
}

/** Number of stored oidc-provider records of a model (Session, Grant, AccessToken, ...). */
export function stored(app: Booted, model: string): Promise<number> {
  return app.services.store.kv.count(`oidc:${model}`);
}
