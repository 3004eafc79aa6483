import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { createRp, createUser, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { ROUTES } from '../../src/oidc/provider.ts';

/**
 * Cross-origin requests from a browser (provider.ts, corsForPublicClients): userinfo for any client,
 * the token, revocation and introspection endpoints only for public clients (SPAs). A confidential
 * client's secret never belongs in a browser, so its redirect URI's origin gets no CORS there.
 */
const ALICE = { username: 'alice', password: 'correct horse 1' };
let app: Booted;
let confidential: TestRp;
let publicRp: TestRp;

before(async () => {
  app = await boot();
  await createUser(app, ALICE);
  confidential = await createRp(app);
  publicRp = await createRp(app, { public: true });
});
after(() => app?.close());

const allowedOrigin = (response: Response) => response.headers.get('access-control-allow-origin');

function post(path: string, origin: string, rp: TestRp, form: Record<string, string>): Promise<Response> {
  const headers: Record<string, string> = { origin, 'content-type': 'application/x-www-form-urlencoded' };
  if (rp.secret) headers.authorization = `Basic ${Buffer.from(`${rp.client.id}:${rp.secret}`).toString('base64')}`;
  return fetch(`${app.url}${path}`, { method: 'POST', headers, body: new URLSearchParams(rp.secret ? form : { ...form, client_id: rp.client.id }) });
}

async function refusedCrossOrigin(response: Response, label: string): Promise<void> {
  assert.equal(allowedOrigin(response), null, `${label}: no access-control-allow-origin`);
  assert.equal(response.status, 400, label);
  const body = (await response.json()) as { error: string; error_description: string };
  assert.equal(body.error, 'invalid_request', label);
  assert.match(body.error_description, /origin .* not allowed/, label);
}

test('a confidential client\'s own origin gets no CORS at the token, revocation and introspection endpoints; userinfo does get it', async () => {
  const origin = new URL(confidential.redirectUri).origin;
  assert.equal(origin, new URL(publicRp.redirectUri).origin, 'the two clients share the origin');
  const { tokens } = await signIn(confidential, rpBrowser(), ALICE);
  const code = { grant_type: 'authorization_code', code: 'nope', redirect_uri: confidential.redirectUri, code_verifier: 'x'.repeat(43) };

  await refusedCrossOrigin(await post(ROUTES.token, origin, confidential, code), 'token endpoint');
  await refusedCrossOrigin(await post(ROUTES.introspection, origin, confidential, { token: tokens.access_token }), 'introspection endpoint');
  await refusedCrossOrigin(await post(ROUTES.revocation, origin, confidential, { token: tokens.refresh_token! }), 'revocation endpoint');
  // The same requests from the client's back end (no Origin) are answered: the refusals above were for the origin alone.
  const introspection = await fetch(`${app.url}${ROUTES.introspection}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${confidential.client.id}:${confidential.secret}`).toString('base64')}` }, body: new URLSearchParams({ token: tokens.refresh_token! }) });
  assert.equal(((await introspection.json()) as { active: boolean }).active, true, 'nothing was revoked');

  const userinfo = await fetch(`${app.url}${ROUTES.userinfo}`, { headers: { origin, authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(userinfo.status, 200);
  assert.equal(allowedOrigin(userinfo), origin, 'userinfo answers the client\'s origin');

  // The control: the same origin and request, for the public client, is allowed.
  assert.equal(allowedOrigin(await post(ROUTES.token, origin, publicRp, { ...code, redirect_uri: publicRp.redirectUri })), origin);
});
