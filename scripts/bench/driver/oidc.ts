/**
 * OIDC scenarios as a confidential client with PKCE would run them: (a) authorization code with
 * password + TOTP, (c) refresh-token grant, (d) code flow riding an existing SSO session. Every token
 * response is checked: id_token signature against the JWKS (jose), iss, aud, nonce, acr/amr.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { BenchError, encodeForm, Jar, type HttpClient, type Reply } from './http.ts';
import type { UserPicker } from './users.ts';
import type { OidcSetup, SignInOutcome } from './protocol.ts';
import { passwordThenTotp, submitPassword } from './sign-in.ts';
import { userId } from '../ldap.ts';

export interface OidcContext {
  http: HttpClient;
  setup: OidcSetup;
  users: UserPicker;
  mfaAcr: string;
  jwks: ReturnType<typeof createLocalJWKSet>;
}

interface TokenResponse {
  id_token?: string;
  access_token?: string;
  refresh_token?: string;
  token_type?: string;
}

const random = (bytes = 16) => randomBytes(bytes).toString('base64url');

function authorizationUrl(setup: OidcSetup, state: string, nonce: string, verifier: string): string {
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const params = new URLSearchParams({
    client_id: setup.clientId,
    redirect_uri: setup.redirectUri,
    response_type: 'code',
    scope: setup.scope,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...setup.extraParams,
  });
  return `${setup.authorizationEndpoint}?${params}`;
}

/** The redirect back to the client: code and state (and iss, RFC 9207) checked. */
function codeFrom(reply: Reply, setup: OidcSetup, state: string): string {
  const location = reply.headers.location;
  if (reply.status < 300 || reply.status >= 400 || !location?.startsWith(setup.redirectUri)) {
    throw new BenchError('redirect to client', `expected a redirect to ${setup.redirectUri}, got HTTP ${reply.status} ${location ?? ''} ${reply.body.replace(/\s+/g, ' ').slice(0, 200)}`);
  }
  const params = new URL(location).searchParams;
  if (params.get('error')) throw new BenchError('redirect to client', `${params.get('error')}: ${params.get('error_description')}`);
  if (params.get('state') !== state) throw new BenchError('redirect to client', 'state mismatch');
  const iss = params.get('iss');
  if (iss !== null && iss !== setup.issuer) throw new BenchError('redirect to client', `iss ${iss}`);
  const code = params.get('code');
  if (!code) throw new BenchError('redirect to client', 'no code');
  return code;
}

async function tokenRequest(ctx: OidcContext, body: Record<string, string>, step: string): Promise<TokenResponse> {
  const { setup } = ctx;
  const basic = Buffer.from(`${encodeURIComponent(setup.clientId)}:${encodeURIComponent(setup.clientSecret)}`).toString('base64');
  const reply = await ctx.http.send('POST', setup.tokenEndpoint, { body: encodeForm(body), headers: { authorization: `Basic ${basic}`, accept: 'application/json' } });
  if (reply.status !== 200) throw new BenchError(step, `HTTP ${reply.status}: ${reply.body.slice(0, 300)}`);
  const tokens = JSON.parse(reply.body) as TokenResponse;
  if (!tokens.access_token || tokens.token_type?.toLowerCase() !== 'bearer') throw new BenchError(step, 'no bearer access_token');
  return tokens;
}

async function checkIdToken(ctx: OidcContext, tokens: TokenResponse, expected: { user: number; nonce?: string }, step: string): Promise<JWTPayload> {
  if (!tokens.id_token) throw new BenchError(step, 'no id_token');
  const { payload } = await jwtVerify(tokens.id_token, ctx.jwks, { issuer: ctx.setup.issuer, audience: ctx.setup.clientId, algorithms: [ctx.setup.idTokenAlg] }).catch((error: Error) => {
    throw new BenchError(step, `id_token rejected: ${error.message}`);
  });
  if (payload.sub !== userId(expected.user)) throw new BenchError(step, `sub ${payload.sub} is not user${expected.user}`);
  if (expected.nonce !== undefined && payload.nonce !== expected.nonce) throw new BenchError(step, 'nonce mismatch');
  if (payload.acr !== ctx.mfaAcr) throw new BenchError(step, `acr ${String(payload.acr)}, expected ${ctx.mfaAcr}`);
  const amr = payload.amr as string[] | undefined;
  if (!amr?.includes('otp')) throw new BenchError(step, `amr ${JSON.stringify(amr)} lacks otp`);
  return payload;
}

/** Exchanges the code (with the PKCE verifier) and checks the id_token. */
async function finish(ctx: OidcContext, reply: Reply, flow: { state: string; nonce: string; verifier: string; user: number }): Promise<TokenResponse> {
  const code = codeFrom(reply, ctx.setup, flow.state);
  const tokens = await tokenRequest(ctx, { grant_type: 'authorization_code', code, redirect_uri: ctx.setup.redirectUri, code_verifier: flow.verifier }, 'token exchange');
  await checkIdToken(ctx, tokens, { user: flow.user, nonce: flow.nonce }, 'token exchange');
  return tokens;
}

/** A fresh state, nonce and PKCE verifier, and the authorization request with them, redirects followed. */
async function authorize(ctx: OidcContext, jar: Jar, extraQuery = ''): Promise<{ reply: Reply; state: string; nonce: string; verifier: string }> {
  const state = random();
  const nonce = random();
  const verifier = random(32);
  const reply = await ctx.http.follow('GET', authorizationUrl(ctx.setup, state, nonce, verifier) + extraQuery, { jar });
  return { reply, state, nonce, verifier };
}

/** (a) A new browser: authorization request, password, TOTP, code, token exchange. */
export async function oidcSignIn(ctx: OidcContext): Promise<SignInOutcome> {
  const jar = new Jar();
  const { reply: first, ...flow } = await authorize(ctx, jar);
  const { reply, user, step } = await passwordThenTotp(ctx.http, jar, first, ctx.users);
  const tokens = await finish(ctx, reply, { ...flow, user });
  return { record: { user, totpStep: step, sessionId: jar.get('sg_session'), refreshToken: tokens.refresh_token, at: Date.now() }, evidence: { idToken: tokens.id_token } };
}

/**
 * A sign-in of `user` whose pages after the password are answered by `answer`, which returns the reply
 * that leaves the IdP (the kill -9 check's enrolment through the setup page, and its sign-in with that key).
 */
export async function oidcSignInWith(ctx: OidcContext, user: number, answer: (afterPassword: Reply, jar: Jar) => Promise<Reply>): Promise<void> {
  const jar = new Jar();
  const { reply: first, ...flow } = await authorize(ctx, jar);
  const reply = await answer(await submitPassword(ctx.http, jar, first, user), jar);
  await finish(ctx, reply, { ...flow, user });
}

/**
 * The library floor's sign-in: the same authorization request (with `login_hint`, which the bare
 * oidc-provider signs in at once instead of asking for a password and a code), the same redirects,
 * token exchange and id_token checks.
 */
export async function floorSignIn(ctx: OidcContext): Promise<SignInOutcome> {
  const user = ctx.users.next();
  const { reply, ...flow } = await authorize(ctx, new Jar(), `&login_hint=${userId(user)}`);
  const tokens = await finish(ctx, reply, { ...flow, user });
  return { record: { user, refreshToken: tokens.refresh_token, at: Date.now() }, evidence: { idToken: tokens.id_token } };
}

/** (d) A browser that already has an SSO session (cookie) signs in to this app without any page. */
export async function ssoReuse(ctx: OidcContext, session: { id: string; user: number }): Promise<SignInOutcome> {
  const jar = new Jar();
  jar.set('sg_session', session.id);
  jar.set('sg_bb', random(18)); // the browser-binding cookie a returning browser already has
  const { reply, ...flow } = await authorize(ctx, jar);
  if (reply.status === 200) throw new BenchError('sso reuse', `a page was shown instead of a redirect: ${reply.body.replace(/\s+/g, ' ').slice(0, 200)}`);
  const tokens = await finish(ctx, reply, { ...flow, user: session.user });
  return { record: { user: session.user, sessionId: session.id, at: Date.now() }, evidence: { idToken: tokens.id_token } };
}

/** (c) One refresh-token grant; returns the token to use next (rotated or the same). */
export async function refreshGrant(ctx: OidcContext, token: { value: string; user: number }): Promise<string> {
  const tokens = await tokenRequest(ctx, { grant_type: 'refresh_token', refresh_token: token.value }, 'refresh grant');
  if (tokens.id_token) await checkIdToken(ctx, tokens, { user: token.user }, 'refresh grant');
  return tokens.refresh_token ?? token.value;
}
