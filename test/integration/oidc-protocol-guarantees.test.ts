import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { parseForms, type Page } from '../helpers/browser.ts';
import { ALL_SCOPES, CALLBACK_BASE, authRequest, callbackOf, createRp, createUser, redeem, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';

/**
 * Guarantees of the protocol that oidc-provider gives and the OpenID certification profiles check,
 * held here so that an upgrade or a configuration change cannot drop them unnoticed: a code is
 * good only for its client and redirect URI, a PKCE downgrade is refused, access tokens are never
 * taken from a URL, and every error sent to a client names the request (state) and the issuer (iss).
 */

const ALICE = { username: 'alice', password: 'correct horse 1' };
let app: Booted;
let rp: TestRp;
let other: TestRp;

before(async () => {
  app = await boot();
  await createUser(app, { ...ALICE });
  const tag = `${CALLBACK_BASE}r20-${Date.now()}`;
  // Two redirect URIs of one client: a code sent to one is not redeemed with the other.
  rp = await createRp(app, { redirectUris: [`${tag}/a`, `${tag}/b`] });
  rp.redirectUri = `${tag}/a`;
  other = await createRp(app);
});
after(async () => {
  await app?.close();
});

function basic(client: TestRp): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(client.client.id)}:${encodeURIComponent(client.secret!)}`).toString('base64')}`;
}

async function tokenRequest(client: TestRp, body: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${app.url}/oidc/token`, { method: 'POST', headers: { authorization: basic(client) }, body: new URLSearchParams(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A code for `rp` from a browser alice is signed in with; `params` change the authorization request. */
async function codeFor(browser: ReturnType<typeof rpBrowser>, params: Record<string, string> = {}): Promise<{ code: string; verifier: string }> {
  const request = await authRequest(rp, params);
  return { code: callbackOf(rp, await browser.get(request.url.toString())).searchParams.get('code')!, verifier: request.verifier };
}

test('a code is redeemed only by the client it was issued to and with the redirect URI it was sent to (RFC 6749 4.1.3)', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  const { code, verifier } = await codeFor(browser);
  const grant = { grant_type: 'authorization_code', code, redirect_uri: rp.redirectUri, code_verifier: verifier };
  for (const [label, client, body] of [
    ['another client', other, grant],
    ["the client's other redirect URI", rp, { ...grant, redirect_uri: rp.client.redirectUris[1]! }],
    ['the redirect URI with a query added', rp, { ...grant, redirect_uri: `${rp.redirectUri}?x=1` }],
  ] as const) {
    const answer = await tokenRequest(client, body);
    assert.deepEqual([answer.status, answer.body.error, answer.body.access_token], [400, 'invalid_grant', undefined], label);
  }
  assert.equal((await tokenRequest(rp, grant)).status, 200, 'the client itself, with the URI the code was sent to');
});

test('a code issued without a code_challenge is refused with a code_verifier (PKCE downgrade, RFC 9700 2.1.1); one issued with S256 needs the verifier', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  const withoutChallenge = await codeFor(browser, { code_challenge: '', code_challenge_method: '' });
  const downgraded = await tokenRequest(rp, { grant_type: 'authorization_code', code: withoutChallenge.code, redirect_uri: rp.redirectUri, code_verifier: 'a'.repeat(43) });
  assert.deepEqual([downgraded.status, downgraded.body.error], [400, 'invalid_grant']);
  const withChallenge = await codeFor(browser);
  const noVerifier = await tokenRequest(rp, { grant_type: 'authorization_code', code: withChallenge.code, redirect_uri: rp.redirectUri });
  assert.deepEqual([noVerifier.status, noVerifier.body.error], [400, 'invalid_grant']);
});

test('userinfo takes the access token from the Authorization header (GET, POST) or a form body, never from the URL; refusals say why in WWW-Authenticate (RFC 6750)', async () => {
  const { tokens } = await signIn(rp, rpBrowser(), ALICE);
  const userinfo = `${app.url}/oidc/me`;
  const bearer = { authorization: `Bearer ${tokens.access_token}` };
  for (const [label, init] of [
    ['GET with the header', { headers: bearer }],
    ['POST with the header', { method: 'POST', headers: bearer }],
    ['POST with a form body', { method: 'POST', body: new URLSearchParams({ access_token: tokens.access_token }) }],
  ] as const) {
    const response = await fetch(userinfo, init);
    assert.equal(response.status, 200, label);
  }
  const inQuery = await fetch(`${userinfo}?access_token=${encodeURIComponent(tokens.access_token)}`);
  assert.equal(inQuery.status, 400);
  assert.match(inQuery.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_request"/);
  const none = await fetch(userinfo);
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
  assert.doesNotMatch(none.headers.get('www-authenticate') ?? '', /error=/, 'no error code for a request without a token (RFC 6750 3.1)');
  await oidc.tokenRevocation(rp.config, tokens.access_token);
  const revoked = await fetch(userinfo, { headers: bearer });
  assert.equal(revoked.status, 401);
  assert.match(revoked.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
});

/** The parameters of an authorization response, as the client receives them in each response mode. */
function responseParams(page: Page, mode: string): URLSearchParams {
  if (mode === 'form_post') {
    const form = parseForms(page.body, page.url).find((candidate) => candidate.action.startsWith(rp.redirectUri));
    assert.ok(form, `a form posting to the client: ${page.status} ${page.body.slice(0, 200)}`);
    return new URLSearchParams(form.fields);
  }
  const location = callbackOf(rp, page);
  return mode === 'fragment' ? new URLSearchParams(location.hash.slice(1)) : location.searchParams;
}

test('every error sent to the client carries its state and the issuer (RFC 9207), in the query, the fragment and a form post', async () => {
  const state = 'st&te=1 +/é';
  const cases: Array<[Record<string, string>, string]> = [
    [{ prompt: 'none' }, 'login_required'],
    [{ request: 'eyJhbGciOiJub25lIn0.e30.' }, 'request_not_supported'],
    [{ request_uri: 'https://rp.example.org/request.jwt' }, 'request_uri_not_supported'],
    [{ code_challenge_method: 'plain' }, 'invalid_request'],
    [{ max_age: 'soon' }, 'invalid_request'],
    [{ claims: '{"id_token":' }, 'invalid_request'],
  ];
  for (const mode of ['query', 'fragment', 'form_post']) {
    for (const [params, error] of cases) {
      const url = new URL((await authRequest(rp, { ...params, response_mode: mode, scope: ALL_SCOPES })).url);
      url.searchParams.set('state', state);
      const answer = responseParams(await rpBrowser().get(url.toString()), mode);
      const label = `${mode} ${JSON.stringify(params)}`;
      assert.deepEqual([answer.get('error'), answer.get('state'), answer.get('iss'), answer.get('code')], [error, state, app.url, null], label);
    }
  }
  // A response type the client may not use is answered in that type's default mode, the fragment.
  const token = new URL((await authRequest(rp, { response_type: 'token' })).url);
  token.searchParams.set('state', state);
  const answer = responseParams(await rpBrowser().get(token.toString()), 'fragment');
  assert.deepEqual([answer.get('error'), answer.get('state'), answer.get('iss')], ['unsupported_response_type', state, app.url]);
});

test('the success response carries the issuer too, and the code redeems', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  for (const mode of ['query', 'fragment', 'form_post']) {
    const request = await authRequest(rp, { response_mode: mode });
    const answer = responseParams(await browser.get(request.url.toString()), mode);
    assert.deepEqual([answer.get('state'), answer.get('iss'), answer.get('error')], [request.state, app.url, null], mode);
    const tokens = await redeem(rp, request, new URL(`${rp.redirectUri}?${answer}`));
    assert.equal(tokens.claims()?.nonce, request.nonce, mode);
  }
});
