import type { Collection, Store } from '../store/store.ts';
import { BoundedMap } from '../core/bounded-map.ts';
import type { SecretBox } from '../core/secret-box.ts';
import type { Clock } from '../core/clock.ts';
import type { RelyingPartySettings } from '../core/types.ts';
import { randomId } from '../core/ids.ts';
import { redirectUriProblem } from './redirect-uri.ts';
import { ClientRevocations } from './client-revocations.ts';

export const OIDC_CLIENTS = 'oidc-clients';
/** Scopes Stepgate can serve; a client may be limited to a subset. */
const SUPPORTED_SCOPES = ['openid', 'profile', 'email', 'groups'] as const;
export const ID_TOKEN_ALGS = ['RS256', 'ES256'] as const;
export const SECRET_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;

export type IdTokenAlg = (typeof ID_TOKEN_ALGS)[number];
export type TokenEndpointAuthMethod = (typeof SECRET_AUTH_METHODS)[number] | 'none';

/** An OIDC relying party as the administrator registered it. The secret is sealed, never stored in clear. */
export interface OidcClientRecord {
  /** The client_id. */
  id: string;
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  /** 'none' marks a public client (no secret, PKCE S256 mandatory). */
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  sealedSecret?: string;
  grantTypes: Array<'authorization_code' | 'refresh_token'>;
  scopes: string[];
  idTokenSignedResponseAlg: IdTokenAlg;
  policy?: string;
  allowPasswordChange: boolean;
  /** OpenID Connect Back-Channel Logout: where Logout Tokens are POSTed; absent when the client takes none. */
  backchannelLogoutUri?: string;
  /** The Logout Token (and so the ID Token) carries sid. Only set with a backchannelLogoutUri. */
  backchannelLogoutSessionRequired?: boolean;
  createdAt: number;
}

export interface NewClient {
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  public?: boolean;
  authMethod?: (typeof SECRET_AUTH_METHODS)[number];
  scopes?: string[];
  idTokenAlg?: IdTokenAlg;
  refreshTokens?: boolean;
  policy?: string;
  allowPasswordChange?: boolean;
  backchannelLogoutUri?: string;
  backchannelLogoutSessionRequired?: boolean;
}

export type AddOutcome = { ok: true; client: OidcClientRecord; secret?: string } | { ok: false; problems: string[] };

/** What `update` may change; a field left out keeps its value. The client_id, type and secret stay. */
export interface ClientChanges {
  name?: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  scopes?: string[];
  idTokenAlg?: IdTokenAlg;
  policy?: string;
  allowPasswordChange?: boolean;
  /** '' removes back-channel logout (and the sid requirement with it). */
  backchannelLogoutUri?: string;
  backchannelLogoutSessionRequired?: boolean;
}

/** `notFound` marks an unknown client_id (its one problem says so). */
export type ChangeOutcome = { ok: true; client: OidcClientRecord; secret?: string } | { ok: false; problems: string[]; notFound?: true };

/** The one writer and reader of OIDC client registrations; the CLI and the provider's Client adapter use it. */
const MAX_OPENED_SECRETS = 1000;

export class ClientRegistry {
  readonly #clients: Collection<OidcClientRecord>;
  readonly #box: SecretBox;
  readonly #clock: Clock;
  readonly #revocations: ClientRevocations;
  /**
   * Secrets opened once per sealed value (oidc-provider reads the client on every request it
   * answers); a rotated secret is a new sealed value, so the old clear one is never served again.
   */
  readonly #opened = new BoundedMap<string, string>(MAX_OPENED_SECRETS);

  constructor(clients: Collection<OidcClientRecord>, box: SecretBox, clock: Clock, revocations: ClientRevocations) {
    this.#clients = clients;
    this.#box = box;
    this.#clock = clock;
    this.#revocations = revocations;
  }

  async add(input: NewClient): Promise<AddOutcome> {
    const problems = clientProblems(input);
    if (problems.length) return { ok: false, problems };
    const id = randomId(18);
    const secret = input.public ? undefined : randomId(32);
    const client: OidcClientRecord = {
      id,
      name: input.name.trim(),
      redirectUris: [...new Set(input.redirectUris)],
      postLogoutRedirectUris: [...new Set(input.postLogoutRedirectUris ?? [])],
      tokenEndpointAuthMethod: input.public ? 'none' : (input.authMethod ?? 'client_secret_basic'),
      sealedSecret: secret === undefined ? undefined : sealClientSecret(this.#box, id, secret),
      grantTypes: input.refreshTokens === false ? ['authorization_code'] : ['authorization_code', 'refresh_token'],
      scopes: [...new Set(input.scopes ?? SUPPORTED_SCOPES)],
      idTokenSignedResponseAlg: input.idTokenAlg ?? 'RS256',
      policy: input.policy,
      allowPasswordChange: input.allowPasswordChange ?? false,
      ...backchannelFields(input),
      createdAt: this.#clock.now(),
    };
    await this.#clients.put(client);
    return { ok: true, client, secret };
  }

  /** Changes a registration in place, validated like `add`: every problem is listed and nothing is written when there is one. */
  async update(id: string, changes: ClientChanges): Promise<ChangeOutcome> {
    const record = await this.#clients.get(id);
    if (!record) return notFound(id);
    const merged: NewClient = {
      name: changes.name ?? record.name,
      redirectUris: changes.redirectUris ?? record.redirectUris,
      postLogoutRedirectUris: changes.postLogoutRedirectUris ?? record.postLogoutRedirectUris,
      public: record.tokenEndpointAuthMethod === 'none',
      scopes: changes.scopes ?? record.scopes,
      ...mergedBackchannel(record, changes),
    };
    const problems = clientProblems(merged);
    if (changes.idTokenAlg !== undefined && !(ID_TOKEN_ALGS as readonly string[]).includes(changes.idTokenAlg)) problems.push(`the ID Token algorithm must be one of ${ID_TOKEN_ALGS.join(', ')}`);
    if (problems.length) return { ok: false, problems };
    const { backchannelLogoutUri: _uri, backchannelLogoutSessionRequired: _sid, ...unchanged } = record;
    const client: OidcClientRecord = {
      ...unchanged,
      name: merged.name.trim(),
      redirectUris: [...new Set(merged.redirectUris)],
      postLogoutRedirectUris: [...new Set(merged.postLogoutRedirectUris)],
      scopes: [...new Set(merged.scopes)],
      idTokenSignedResponseAlg: changes.idTokenAlg ?? record.idTokenSignedResponseAlg,
      policy: changes.policy ?? record.policy,
      allowPasswordChange: changes.allowPasswordChange ?? record.allowPasswordChange,
      ...backchannelFields(merged),
    };
    await this.#clients.put(client);
    return { ok: true, client };
  }

  /** Replaces a confidential client's secret; the old one stops working at once. The new secret is returned once, in clear. */
  async rotateSecret(id: string): Promise<ChangeOutcome> {
    const record = await this.#clients.get(id);
    if (!record) return notFound(id);
    if (record.tokenEndpointAuthMethod === 'none') return { ok: false, problems: ['a public client has no secret to rotate'] };
    const secret = randomId(32);
    const client: OidcClientRecord = { ...record, sealedSecret: sealClientSecret(this.#box, id, secret) };
    await this.#clients.put(client);
    return { ok: true, client, secret };
  }

  get(id: string): Promise<OidcClientRecord | undefined> {
    return this.#clients.get(id);
  }

  async list(): Promise<OidcClientRecord[]> {
    return (await this.#clients.list()).sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Removes the registration and revokes everything issued to the client (ClientRevocations): first,
   * so that a removal cut short leaves the client's tokens void rather than the client gone with
   * tokens that a re-registration of its client_id would bring back.
   */
  async remove(id: string): Promise<boolean> {
    if (!(await this.#clients.get(id))) return false;
    await this.#revocations.record(id);
    return this.#clients.remove(id);
  }

  /** The clear secret, for oidc-provider's client authentication only. */
  secretOf(client: OidcClientRecord): string | undefined {
    // The client id is part of the purpose, so a sealed secret copied onto another client does not open.
    if (client.sealedSecret === undefined) return undefined;
    const key = `${client.id}\0${client.sealedSecret}`;
    let secret = this.#opened.get(key);
    if (secret === undefined) {
      secret = this.#box.openText(client.sealedSecret, secretPurpose(client.id));
      this.#opened.set(key, secret);
    }
    return secret;
  }
}

export function clientRegistry(store: Store, box: SecretBox, clock: Clock): ClientRegistry {
  return new ClientRegistry(store.collection<OidcClientRecord>(OIDC_CLIENTS), box, clock, new ClientRevocations(store.kv));
}

/** The protocol-neutral settings a client contributes to a LoginRequest. */
export function relyingPartySettings(client: OidcClientRecord): RelyingPartySettings {
  return { policy: client.policy, allowPasswordChange: client.allowPasswordChange };
}

function notFound(id: string): ChangeOutcome {
  return { ok: false, problems: [`no OpenID Connect client ${id}`], notFound: true };
}

function secretPurpose(clientId: string): string {
  return `oidc-client-secret:${clientId}`;
}

/** A client's secret as stored: sealed with the data key, bound to the client id. */
export function sealClientSecret(box: SecretBox, clientId: string, secret: string): string {
  return box.seal(secret, secretPurpose(clientId));
}

/** Stored only for a client that takes Logout Tokens, so existing records keep their shape. */
function backchannelFields(input: NewClient): Pick<OidcClientRecord, 'backchannelLogoutUri' | 'backchannelLogoutSessionRequired'> {
  if (!input.backchannelLogoutUri) return {};
  // sid by default: discovery says the OP supports it (Back-Channel Logout 1.0, 2.1), and without it
  // an RP that keys its sessions by sid takes one session's logout for all of that user's.
  return { backchannelLogoutUri: input.backchannelLogoutUri, backchannelLogoutSessionRequired: input.backchannelLogoutSessionRequired ?? true };
}

/** A removed URI takes the sid requirement with it, unless the same change asks for it again (which is refused). */
function mergedBackchannel(record: OidcClientRecord, changes: ClientChanges): Pick<NewClient, 'backchannelLogoutUri' | 'backchannelLogoutSessionRequired'> {
  const backchannelLogoutUri = changes.backchannelLogoutUri ?? record.backchannelLogoutUri;
  const kept = backchannelLogoutUri ? record.backchannelLogoutSessionRequired : undefined;
  return { backchannelLogoutUri, backchannelLogoutSessionRequired: changes.backchannelLogoutSessionRequired ?? kept };
}

/** Every reason the registration cannot be stored, worded for the admin; empty when it can. */
export function clientProblems(input: NewClient): string[] {
  const problems: string[] = [];
  if (!input.name.trim()) problems.push('--name must not be empty');
  if (!input.redirectUris.length) problems.push('at least one --redirect-uri is required');
  for (const uri of input.redirectUris) {
    const problem = redirectUriProblem(uri);
    if (problem) problems.push(`redirect URI ${uri}: ${problem}`);
  }
  for (const uri of input.postLogoutRedirectUris ?? []) {
    const problem = redirectUriProblem(uri);
    if (problem) problems.push(`post-logout redirect URI ${uri}: ${problem}`);
  }
  const scopes = input.scopes ?? [...SUPPORTED_SCOPES];
  const unknown = scopes.filter((scope) => !(SUPPORTED_SCOPES as readonly string[]).includes(scope));
  if (unknown.length) problems.push(`unknown scope(s): ${unknown.join(', ')} (supported: ${SUPPORTED_SCOPES.join(' ')})`);
  if (!scopes.includes('openid')) problems.push('the scopes must include openid');
  if (input.public && input.authMethod) problems.push('a public client has no secret, so it takes no --auth-method');
  if (input.backchannelLogoutUri) {
    // Same rules as redirect URIs: the Logout Token is a credential for ending the user's session at the client.
    const problem = redirectUriProblem(input.backchannelLogoutUri);
    if (problem) problems.push(`--backchannel-logout-uri ${input.backchannelLogoutUri}: ${problem}`);
  } else if (input.backchannelLogoutSessionRequired) {
    problems.push('--backchannel-logout-session-required needs a --backchannel-logout-uri');
  }
  return problems;
}
