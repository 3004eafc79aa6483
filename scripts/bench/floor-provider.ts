/**
 * The library floor: oidc-provider alone, configured like Stepgate's (code + PKCE, client_secret_basic,
 * the same claims, rotated refresh tokens, the client's ID Token algorithm), but with plain in-memory
 * maps for storage, a fixed account and an interaction that signs the `login_hint` user in at once:
 * no directory, no MFA, no pages, no disk, no Express. What it costs per code flow and refresh grant
 * is the least any IdP built on oidc-provider pays on this machine. Run by `npm run bench`
 * (scripts/bench/floor.ts) with FLOOR_PROVIDER set; prints "floor provider ready" once it listens.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider, { type Adapter, type AdapterPayload, type JWK } from 'oidc-provider';
import { providerClaims } from '../../src/oidc/claims.ts';
import { ACR, ACR_LEVELS } from '../../src/policy/levels.ts';

export interface FloorProviderConfig {
  port: number;
  client: { id: string; secret: string; redirectUri: string; idTokenAlg: 'RS256' | 'ES256' };
}

const config = JSON.parse(process.env.FLOOR_PROVIDER ?? '{}') as FloorProviderConfig;
const { idTokenAlg } = config.client;
const key = idTokenAlg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

/**
 * Plain maps, no copies and no expiry: the least storage can cost. (oidc-provider's own development
 * adapter keeps only the last 1,000 records, which a bench run outgrows in seconds.)
 */
const records = new Map<string, AdapterPayload>();
class MapAdapter implements Adapter {
  readonly #model: string;
  constructor(model: string) {
    this.#model = model;
  }
  #key(id: string): string {
    return `${this.#model}:${id}`;
  }
  async upsert(id: string, payload: AdapterPayload): Promise<void> {
    records.set(this.#key(id), payload);
    if (payload.uid) records.set(this.#key(`uid:${payload.uid}`), payload);
  }
  async find(id: string): Promise<AdapterPayload | undefined> {
    return records.get(this.#key(id));
  }
  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return records.get(this.#key(`uid:${uid}`));
  }
  async findByUserCode(): Promise<undefined> {
    return undefined;
  }
  async consume(id: string): Promise<void> {
    const payload = records.get(this.#key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string): Promise<void> {
    records.delete(this.#key(id));
  }
  async revokeByGrantId(): Promise<void> {}
}

const provider = new Provider(`http://localhost:${config.port}`, {
  adapter: (model: string) => new MapAdapter(model),
  clients: [{ client_id: config.client.id, client_secret: config.client.secret, redirect_uris: [config.client.redirectUri], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: idTokenAlg }],
  jwks: { keys: [{ ...(key.export({ format: 'jwk' }) as JWK), kid: 'floor', use: 'sig', alg: idTokenAlg }] },
  enabledJWA: { idTokenSigningAlgValues: ['RS256', 'ES256'] },
  responseTypes: ['code'],
  clientAuthMethods: ['client_secret_basic'],
  scopes: ['openid'],
  claims: providerClaims(),
  acrValues: [...ACR_LEVELS],
  conformIdTokenClaims: false,
  findAccount: async (_ctx, accountId) => ({
    accountId,
    claims: async () => ({ sub: accountId, name: `Floor ${accountId}`, preferred_username: accountId, email: `${accountId}@example.org`, email_verified: true }),
  }),
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  issueRefreshToken: async () => true,
  rotateRefreshToken: true,
  cookies: { keys: [randomBytes(32).toString('base64url')], long: { sameSite: 'lax' }, short: { sameSite: 'lax' } },
  ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, RefreshToken: 86400, Grant: 86400, Interaction: 900, Session: 86400 },
});
provider.on('server_error', (_ctx, error) => console.error(`server_error: ${error.message}`));

/** Signs the `login_hint` user in with the MFA level the bench's sign-ins reach, and grants what was asked. */
async function interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const accountId = String(details.params.login_hint);
  const grant = new provider.Grant({ accountId, clientId: String(details.params.client_id) });
  grant.addOIDCScope(String(details.params.scope));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId, acr: ACR.mfa, amr: ['pwd', 'otp', 'mfa'] }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
createServer((req, res) => {
  if (!req.url?.startsWith('/interaction/')) return void callback(req, res);
  interaction(req, res).catch((error: Error) => {
    res.statusCode = 500;
    res.end(error.message);
  });
}).listen(config.port, '127.0.0.1', () => console.log('floor provider ready'));
