/**
 * The machine floor: the "minimal Node 24 server doing the same work" (an LDAP search and
 * bind, a TOTP check, one ID Token signature, the HTTP round trips), built to speak the same OIDC code
 * flow as Stepgate, so the bench's unchanged OIDC sign-in and refresh scenarios run against it and
 * check every answer (forms, redirect, PKCE, client authentication, id_token signature and claims).
 *
 * Everything else a real IdP needs is left out on purpose: no sessions, CSRF, rate limits, policy,
 * groups, audit, disk or logging; state lives in plain maps and the signature is made synchronously
 * (the least CPU, though it blocks the event loop). What it costs per sign-in is the least that work
 * costs on the machine at hand, which is what the 0.63 ms was measured as on its machine.
 * Run by `npm run bench` (scripts/bench/floor.ts) with MINIMAL_IDP set; prints "minimal idp ready".
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { Client, EqualityFilter } from 'ldapts';
import { base32Decode, benchSecret, verifyTotp } from './driver/totp.ts';
import { safeEqual } from '../../src/core/secret-box.ts';

export interface MinimalIdpConfig {
  port: number;
  ldap: { url: string; bindDn: string; password: string; usersBaseDn: string };
  totpSeed: string;
  client: { id: string; secret: string; redirectUri: string; idTokenAlg: 'RS256' | 'ES256' };
  /** acr of a password + TOTP sign-in, as the bench's checks expect it. */
  mfaAcr: string;
}

const config = JSON.parse(process.env.MINIMAL_IDP ?? '{}') as MinimalIdpConfig;
const issuer = `http://localhost:${config.port}`;
const { idTokenAlg } = config.client;
const key: KeyObject = idTokenAlg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const KID = 'minimal';

/** LDAP connections handed out one request at a time. */
class Pool {
  readonly #idle: Client[] = [];
  readonly #waiting: Array<(client: Client) => void> = [];
  constructor(size: number, ready: (client: Client) => Promise<void>) {
    for (let index = 0; index < size; index++) {
      const client = new Client({ url: config.ldap.url });
      ready(client).then(
        () => this.#release(client),
        (error: Error) => {
          console.error(`LDAP: ${error.message}`);
          process.exit(1);
        },
      );
    }
  }
  #release(client: Client): void {
    const next = this.#waiting.shift();
    if (next) next(client);
    else this.#idle.push(client);
  }
  async use<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = this.#idle.pop() ?? (await new Promise<Client>((resolve) => this.#waiting.push(resolve)));
    try {
      return await work(client);
    } finally {
      this.#release(client);
    }
  }
}

const searchers = new Pool(4, (client) => client.bind(config.ldap.bindDn, config.ldap.password));
const binders = new Pool(4, async () => undefined);

interface Transaction {
  state: string;
  nonce: string;
  challenge: string;
  user?: { sub: string; number: number };
}
interface Grant {
  sub: string;
  nonce?: string;
  challenge: string;
}
const transactions = new Map<string, Transaction>();
const codes = new Map<string, Grant>();
const refreshTokens = new Map<string, string>();
/** Last accepted TOTP step per user: a code is good once. */
const lastSteps = new Map<number, number>();

const id = () => randomBytes(16).toString('base64url');
const json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

class Refused extends Error {}

async function form(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  req.setEncoding('utf8');
  for await (const chunk of req) body += chunk as string;
  return new URLSearchParams(body);
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers }).end(body);
}

function page(res: ServerResponse, action: string, fields: string): void {
  send(res, 200, 'text/html; charset=utf-8', `<!doctype html><title>Sign in</title><form method="post" action="${action}">${fields}<button>Continue</button></form>`);
}

function idToken(grant: Grant): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: issuer, sub: grant.sub, aud: config.client.id, iat: now, exp: now + 3600, nonce: grant.nonce, acr: config.mfaAcr, amr: ['pwd', 'otp'] };
  const input = `${json({ alg: idTokenAlg, typ: 'JWT', kid: KID })}.${json(claims)}`;
  const signature = sign('sha256', Buffer.from(input), idTokenAlg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${signature.toString('base64url')}`;
}

function authorize(res: ServerResponse, query: URLSearchParams): void {
  if (query.get('client_id') !== config.client.id || query.get('redirect_uri') !== config.client.redirectUri) throw new Refused('unknown client or redirect_uri');
  if (query.get('response_type') !== 'code' || query.get('code_challenge_method') !== 'S256' || !query.get('code_challenge') || !query.get('state')) throw new Refused('bad authorization request');
  const tx = id();
  transactions.set(tx, { state: query.get('state')!, nonce: query.get('nonce') ?? '', challenge: query.get('code_challenge')! });
  page(res, `/login/${tx}`, '<input name="username"><input name="password" type="password">');
}

async function password(res: ServerResponse, tx: string, fields: URLSearchParams): Promise<void> {
  const transaction = transactions.get(tx);
  const username = fields.get('username') ?? '';
  const number = Number(/^user(\d+)$/.exec(username)?.[1]);
  if (!transaction || !Number.isInteger(number)) throw new Refused('unknown sign-in or user');
  const entry = await searchers.use(async (client) => {
    const { searchEntries } = await client.search(config.ldap.usersBaseDn, { scope: 'one', filter: new EqualityFilter({ attribute: 'uid', value: username }), attributes: ['entryUUID'] });
    return searchEntries.length === 1 ? searchEntries[0]! : undefined;
  });
  if (!entry) throw new Refused('unknown user');
  await binders.use((client) => client.bind(entry.dn, fields.get('password') ?? '')).catch(() => {
    throw new Refused('wrong password');
  });
  transaction.user = { sub: String(entry.entryUUID), number };
  page(res, `/totp/${tx}`, '<input name="code" autocomplete="one-time-code">');
}

function totp(res: ServerResponse, tx: string, fields: URLSearchParams): void {
  const transaction = transactions.get(tx);
  if (!transaction?.user) throw new Refused('no password step');
  const { number, sub } = transaction.user;
  const step = verifyTotp(base32Decode(benchSecret(config.totpSeed, number)), fields.get('code') ?? '', Date.now());
  if (step === undefined || step <= (lastSteps.get(number) ?? -1)) throw new Refused('wrong or used code');
  lastSteps.set(number, step);
  transactions.delete(tx);
  const code = id();
  codes.set(code, { sub, nonce: transaction.nonce, challenge: transaction.challenge });
  const location = new URL(config.client.redirectUri);
  location.search = new URLSearchParams({ code, state: transaction.state, iss: issuer }).toString();
  send(res, 303, 'text/plain', '', { location: location.toString() });
}

function token(req: IncomingMessage, res: ServerResponse, fields: URLSearchParams): void {
  const [scheme, credentials] = (req.headers.authorization ?? '').split(' ');
  const [clientId, secret] = Buffer.from(credentials ?? '', 'base64').toString().split(':').map(decodeURIComponent);
  if (scheme !== 'Basic' || clientId !== config.client.id || !safeEqual(secret ?? '', config.client.secret)) throw new Refused('invalid_client');
  let grant: Grant | undefined;
  if (fields.get('grant_type') === 'authorization_code') {
    const code = fields.get('code') ?? '';
    grant = codes.get(code);
    codes.delete(code);
    const verifier = createHash('sha256').update(fields.get('code_verifier') ?? '').digest('base64url');
    if (!grant || fields.get('redirect_uri') !== config.client.redirectUri || !safeEqual(verifier, grant.challenge)) throw new Refused('invalid_grant');
  } else if (fields.get('grant_type') === 'refresh_token') {
    const presented = fields.get('refresh_token') ?? '';
    const sub = refreshTokens.get(presented);
    refreshTokens.delete(presented);
    if (!sub) throw new Refused('invalid_grant');
    grant = { sub, challenge: '' };
  } else throw new Refused('unsupported_grant_type');
  const refresh = id();
  refreshTokens.set(refresh, grant.sub);
  send(res, 200, 'application/json', JSON.stringify({ access_token: id(), token_type: 'Bearer', expires_in: 3600, refresh_token: refresh, id_token: idToken(grant) }), { 'cache-control': 'no-store' });
}

const publicJwk = { ...createPublicJwk(), kid: KID, use: 'sig', alg: idTokenAlg };
function createPublicJwk(): Record<string, unknown> {
  const { d: _private, dp: _dp, dq: _dq, p: _p, q: _q, qi: _qi, ...open } = key.export({ format: 'jwk' }) as Record<string, unknown>;
  return open;
}
const discovery = JSON.stringify({ issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`, response_types_supported: ['code'], id_token_signing_alg_values_supported: [idTokenAlg] });

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', issuer);
  const [, route, tx] = url.pathname.split('/');
  if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') return send(res, 200, 'application/json', discovery);
  if (req.method === 'GET' && route === 'jwks') return send(res, 200, 'application/json', JSON.stringify({ keys: [publicJwk] }));
  if (req.method === 'GET' && route === 'authorize') return authorize(res, url.searchParams);
  if (req.method !== 'POST') throw new Refused('not found');
  const fields = await form(req);
  if (route === 'login' && tx) return password(res, tx, fields);
  if (route === 'totp' && tx) return totp(res, tx, fields);
  if (route === 'token') return token(req, res, fields);
  throw new Refused('not found');
}

createServer((req, res) => {
  handle(req, res).catch((error: Error) => send(res, error instanceof Refused ? 400 : 500, 'text/plain', error.message));
}).listen(config.port, '127.0.0.1', () => console.log('minimal idp ready'));
process.once('SIGTERM', () => process.exit(0));
