import type { AdapterPayload } from 'oidc-provider';
import type { KvAdapter } from './adapter.ts';
import type { ClientRegistry } from './client-registry.ts';
import type { ClientRevocations } from './client-revocations.ts';
import { DelegatingAdapter } from './delegating-adapter.ts';
import { claimsOfScopes } from './claims.ts';

/** The part of oidc-provider's Grant payload that holds the OpenID Connect scopes and claims granted. */
interface OpenIdGrant {
  scope?: string;
  claims?: string[];
}

/**
 * The adapter of oidc-provider's Grant model. oidc-provider reads the grant behind every code,
 * refresh token and access token it accepts (token endpoint, userinfo, introspection) and at every
 * authorization, and issues only what the grant holds. So a grant is returned here as the client's
 * registration allows it now: with only the scopes the client may still have (and their claims),
 * and not at all for a client that is no longer registered, or was removed since the grant was made
 * (ClientRevocations). Taking a scope from a client therefore reaches the next refresh, its ID Token
 * and userinfo (also with access tokens issued before), and a sign-in under way. A refresh token
 * keeps the scope it was issued with, so what a refresh yields is always within both.
 */
export class GrantAdapter extends DelegatingAdapter {
  readonly #clients: ClientRegistry;
  readonly #revocations: ClientRevocations;

  constructor(inner: KvAdapter, clients: ClientRegistry, revocations: ClientRevocations) {
    super(inner);
    this.#clients = clients;
    this.#revocations = revocations;
  }

  override async find(id: string): Promise<AdapterPayload | undefined> {
    const grant = await this.inner.find(id);
    if (!grant?.clientId || (await this.#revocations.voids(grant))) return undefined;
    const client = await this.#clients.get(grant.clientId);
    return client && withinScopes(grant, client.scopes);
  }
}

function withinScopes(grant: AdapterPayload, scopes: readonly string[]): AdapterPayload {
  const openid = grant.openid as OpenIdGrant | undefined;
  if (!openid) return grant;
  const allowedScopes = new Set(scopes);
  const allowedClaims = claimsOfScopes(scopes);
  const narrowed: OpenIdGrant = {
    scope: openid.scope?.split(' ').filter((scope) => allowedScopes.has(scope)).join(' '),
    claims: openid.claims?.filter((claim) => allowedClaims.has(claim)),
  };
  return { ...grant, openid: narrowed };
}
