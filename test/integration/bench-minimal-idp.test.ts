import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { freePort } from '../../scripts/free-port.ts';
import type { SlapdHandle } from '../../scripts/slapd.ts';
import { BASE_DN, startBenchDirectory, userId, userPassword } from '../../scripts/bench/ldap.ts';
import { startServer, type ServerHandle } from '../../scripts/bench/child.ts';
import { base32Decode, benchSecret, hotp, timeStep } from '../../scripts/bench/driver/totp.ts';
import type { MinimalIdpConfig } from '../../scripts/bench/minimal-idp.ts';

/**
 * The bench's minimal server is the floor Stepgate is compared with: it must really do the work it
 * stands for (LDAP bind with the password, single-use TOTP, PKCE, single-use codes, rotated refresh
 * tokens, a verifiable ID Token), or the comparison flatters nobody.
 */
let slapd: SlapdHandle;
let server: ServerHandle;
const seed = randomBytes(8).toString('hex');
const client = { id: 'rp', secret: randomBytes(16).toString('base64url'), redirectUri: 'https://rp.example/cb', idTokenAlg: 'RS256' as const };
const USER = 7;

before(async () => {
  slapd = await startBenchDirectory(20, 2);
  const port = await freePort();
  const config: MinimalIdpConfig = { port, ldap: { url: slapd.url, bindDn: slapd.serviceDn, password: slapd.servicePassword, usersBaseDn: `ou=people,${BASE_DN}` }, totpSeed: seed, client, mfaAcr: 'urn:test:mfa' };
  server = await startServer({ name: 'minimal idp', script: 'scripts/bench/minimal-idp.ts', env: { MINIMAL_IDP: JSON.stringify(config) }, readyText: 'minimal idp ready', url: `http://127.0.0.1:${port}` });
});

after(async () => {
  await server?.stop();
  await slapd?.stop();
});

const form = (fields: Record<string, string>) => ({ method: 'POST', redirect: 'manual' as const, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
const actionOf = async (response: Response) => {
  assert.equal(response.status, 200);
  return server.url + /action="([^"]+)"/.exec(await response.text())![1]!;
};
const basic = { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}` };
const token = (fields: Record<string, string>) => fetch(`${server.url}/token`, { ...form(fields), headers: { ...form(fields).headers, ...basic } });

/** Authorization request and password; returns the TOTP form's action and the PKCE verifier. */
async function upToTotp(password = userPassword(USER)): Promise<{ totpAction: string; verifier: string; nonce: string; passwordStatus: number }> {
  const verifier = randomBytes(32).toString('base64url');
  const nonce = randomBytes(8).toString('hex');
  const query = new URLSearchParams({ client_id: client.id, redirect_uri: client.redirectUri, response_type: 'code', scope: 'openid', state: 's', nonce, code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' });
  const loginAction = await actionOf(await fetch(`${server.url}/authorize?${query}`));
  const afterPassword = await fetch(loginAction, form({ username: `user${USER}`, password }));
  return { totpAction: afterPassword.status === 200 ? await actionOf(afterPassword) : '', verifier, nonce, passwordStatus: afterPassword.status };
}

const codeAt = (step: number) => hotp(base32Decode(benchSecret(seed, USER)), step);

test('the minimal server binds with the password, takes each TOTP code once, and checks PKCE, codes and refresh tokens', async () => {
  assert.equal((await upToTotp('wrong password')).passwordStatus, 400);

  const step = timeStep(Date.now());
  const first = await upToTotp();
  const redirect = await fetch(first.totpAction, form({ code: codeAt(step) }));
  assert.equal(redirect.status, 303);
  const code = new URL(redirect.headers.get('location')!).searchParams.get('code')!;
  assert.equal((await token({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: 'not-the-verifier' })).status, 400);
  assert.equal((await token({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: first.verifier })).status, 400, 'a code is good once, even after a failed exchange');

  const second = await upToTotp();
  assert.equal((await fetch(second.totpAction, form({ code: codeAt(step) }))).status, 400, 'a used TOTP code is refused');
  const accepted = await fetch(second.totpAction, form({ code: codeAt(step + 1) }));
  assert.equal(accepted.status, 303);
  const secondCode = new URL(accepted.headers.get('location')!).searchParams.get('code')!;
  const tokens = await (await token({ grant_type: 'authorization_code', code: secondCode, redirect_uri: client.redirectUri, code_verifier: second.verifier })).json();
  const discovery = await (await fetch(`${server.url}/.well-known/openid-configuration`)).json();
  const jwks = createLocalJWKSet(await (await fetch(discovery.jwks_uri)).json());
  const { payload } = await jwtVerify(tokens.id_token, jwks, { issuer: discovery.issuer, audience: client.id, algorithms: ['RS256'] });
  assert.equal(payload.sub, userId(USER));
  assert.equal(payload.nonce, second.nonce);
  assert.equal(payload.acr, 'urn:test:mfa');

  const refreshed = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
  assert.equal(refreshed.status, 200);
  assert.equal((await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token })).status, 400, 'refresh tokens rotate');
  assert.equal((await fetch(`${server.url}/token`, form({ grant_type: 'refresh_token', refresh_token: (await refreshed.json()).refresh_token }))).status, 400, 'no client authentication');
});
