import type { Request } from 'express';
import Provider, { errors, type Adapter, type Client, type ClientAuthMethod, type Configuration, type JWK, type KoaContextWithOIDC } from 'oidc-provider';
import type { Services } from '../services.ts';
import { ACR_LEVELS } from '../policy/levels.ts';
import { KvAdapter } from './adapter.ts';
import { SessionAdapter } from './session-adapter.ts';
import { ClientAdapter } from './client-adapter.ts';
import type { ClientRegistry } from './client-registry.ts';
import { ID_TOKEN_ALGS } from './client-registry.ts';
import type { SsoLinks } from './sso-links.ts';
import type { SsoState } from './sso-state.ts';
import { accountFinder, liveAccountCheck, type SessionConsequences } from './account.ts';
import { exchangeCheck } from './exchange-check.ts';
import { GrantAdapter } from './grant-adapter.ts';
import type { ClientRevocations } from './client-revocations.ts';
import type { UserLookup } from '../directory/user-lookup.ts';
import { providerClaims } from './claims.ts';
import { loadOrCreateGrant } from './grants.ts';
import { holdPlace } from './served-clients.ts';
import { stepgatePolicy } from './interaction-policy.ts';
import { PASSIVE_SSO_HOOK, passiveSso } from './passive-sso.ts';
import { CookieSigner } from './cookie-signer.ts';
import { errorRenderer, logoutSource, postLogoutSuccessSource } from './pages.ts';
import { logoutTokenFetch } from './backchannel-logout.ts';
import { assertSatisfiableAcr } from './binding.ts';
import type { EndpointAudit } from './endpoint-audit.ts';
import { redirectUriRegistered } from './redirect-uri.ts';
import { SWEEP_MARGIN_SECONDS } from './ended-session-sweep.ts';

/** Every endpoint lives under /oidc/; only discovery stays at the issuer's well-known path. */
export const ROUTES = {
  authorization: '/oidc/auth',
  token: '/oidc/token',
  userinfo: '/oidc/me',
  jwks: '/oidc/jwks',
  end_session: '/oidc/session/end',
  revocation: '/oidc/token/revocation',
  introspection: '/oidc/token/introspection',
  pushed_authorization_request: '/oidc/request',
  registration: '/oidc/reg',
  code_verification: '/oidc/device',
  device_authorization: '/oidc/device/auth',
  backchannel_authentication: '/oidc/backchannel',
  challenge: '/oidc/challenge',
  credential: '/oidc/credential',
} as const;

/**
 * Revocation and introspection only for the client's own tokens: Stepgate's access tokens are for
 * its userinfo endpoint, there are no separate resource servers that would need to look at others'.
 */
const ownTokensOnly = async (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) => token.clientId === client.clientId;

const CLIENT_AUTH_METHODS: ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none'];

export const INTERACTION_PATH = '/oidc/interaction';
/** Sign-in transactions last 15 minutes (login/transaction.ts); the OIDC interaction matches them. */
const INTERACTION_TTL_SECONDS = 15 * 60;

/** The cookie that ties a browser to the authorization request it resumes (path /oidc/auth/<uid>). */
export const RESUME_COOKIE = 'sg_oidc_resume';

export interface ProviderDeps {
  /** Signs oidc-provider's cookies; derived from the data key, so stable across restarts and never in the configuration. */
  cookieSigner: CookieSigner;
  clients: ClientRegistry;
  revocations: ClientRevocations;
  users: UserLookup;
  links: SsoLinks;
  sso: SsoState;
  endpointAudit: EndpointAudit;
}

/** Builds oidc-provider's configuration from Stepgate's services: keys, storage, sign-in and pages. */
export async function buildProvider(services: Services, deps: ProviderDeps): Promise<Provider> {
  const { config, store, clock } = services;
  const secure = config.server.publicUrl.startsWith('https:');
  const sessionTtl = sessionTtlSeconds(services);
  const mirrorTtl = mirrorTtlSeconds(services);
  const accessTokenTtlMs = config.oidc.accessTokenTtlSeconds * 1000;
  const ssoConsequences: SessionConsequences = {
    accountGone: (ctx, sessionUid, accountId) => deps.sso.endSessionOfGoneAccount(ctx, sessionUid, accountId),
    tokensIssued: (_ctx, sessionUid) => deps.sso.usedByTokens(sessionUid, clock.now() + accessTokenTtlMs),
  };
  const liveAccount = liveAccountCheck(deps.users, ssoConsequences.accountGone);
  // oidc-provider calls this once per model and keeps the instance.
  const adapter = (name: string): Adapter => {
    if (name === 'Client') return new ClientAdapter(deps.clients, services.logger);
    // A used code or refresh token is kept no longer than the SSO session it was used in can last.
    const kv = new KvAdapter(store.kv, clock, name, { keptAfterUseSeconds: sessionTtl });
    if (name === 'Grant') return new GrantAdapter(kv, deps.clients, deps.revocations);
    return name === 'Session' ? new SessionAdapter(kv, deps.links, deps.revocations, async (ctx) => (await services.sessions.toSignOut(ctx.req as Request)) !== undefined) : kv;
  };

  const configuration: Configuration = {
    adapter,
    // Published in this order: active keys sign, the others stay verifiable through a rotation.
    jwks: { keys: (await services.keys.privateJwks()) as JWK[] },
    enabledJWA: { idTokenSigningAlgValues: [...ID_TOKEN_ALGS] },
    responseTypes: ['code'],
    // What `client add` can register; JWT client authentication is not offered.
    clientAuthMethods: CLIENT_AUTH_METHODS,
    // Revocation and introspection authenticate clients as the token endpoint does. Said in discovery:
    // metadata without these fields means client_secret_basic only (RFC 8414 section 2).
    discovery: {
      revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
      introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    },
    // Scopes come from the claims table; offline_access is not offered (refresh tokens end with the SSO session).
    scopes: ['openid'],
    claims: providerClaims(),
    acrValues: [...ACR_LEVELS],
    // Profile claims in the ID Token too, not only at userinfo: most relying parties read only the ID
    // Token. Within bounds that keep it usable as id_token_hint (id-token-claims.ts).
    conformIdTokenClaims: false,
    allowOmittingSingleRegisteredRedirectUri: false,
    findAccount: accountFinder(deps.users, exchangeCheck(deps), ssoConsequences, { maxGroups: config.oidc.idTokenMaxGroups }),
    // Neither the client's place in the session nor its grant is kept unless a code follows (served-clients.ts).
    loadExistingGrant: (ctx) => {
      holdPlace(ctx.oidc.session!, ctx.oidc.client!.clientId);
      return loadOrCreateGrant(ctx);
    },
    // oidc-provider's default policy (every revocation deletes the Grant record too, except an access
    // token's at the revocation endpoint, which still ends the grant's other tokens, its refresh token
    // included), after a look at a replayed code the revocation deletes.
    revokeGrantPolicy: async (ctx) => {
      if (ctx.oidc.route === 'revocation' && ctx.oidc.entities.AccessToken) return false;
      await deps.endpointAudit.beforeGrantRevoked(ctx);
      return true;
    },
    // Refresh tokens for every client allowed the grant; each is bound to the session (expiresWithSession).
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    extraParams: { [PASSIVE_SSO_HOOK]: passiveSso(deps.sso, deps.links) },
    interactions: { url: (_ctx, interaction) => `${INTERACTION_PATH}/${interaction.uid}`, policy: stepgatePolicy(deps.sso) },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true, assertClaimsParameter: assertSatisfiableAcr },
      revocation: { enabled: true, allowedPolicy: ownTokensOnly },
      // Inactive too once the directory no longer has the token's account (account.ts).
      introspection: { enabled: true, allowedPolicy: async (ctx, client, token) => (await ownTokensOnly(ctx, client, token)) && liveAccount(ctx, token) },
      userinfo: { enabled: true },
      // A client that sends a DPoP proof (RFC 9449) gets sender-constrained tokens: a stolen access
      // token is useless without the client's key, and a public client's refresh tokens are bound to
      // that key too. Clients that send none get Bearer tokens as before. Discovery advertises it.
      dPoP: { enabled: true },
      pushedAuthorizationRequests: { enabled: false },
      // No resource servers are registered: a `resource` parameter gets invalid_target. Said here, not
      // by oidc-provider's default, which also prints a warning outside the JSON log at every start.
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: () => {
          throw new errors.InvalidTarget();
        },
      },
      rpInitiatedLogout: { enabled: true, logoutSource: logoutSource(deps.users, services.sessions), postLogoutSuccessSource },
      // Discovery advertises it, ID Tokens carry sid for clients that require it; see backchannel-logout.ts.
      backchannelLogout: { enabled: true },
    },
    fetch: logoutTokenFetch,
    clientBasedCORS: corsForPublicClients,
    renderError: errorRenderer(config.messages.helpdesk, services.sessions),
    routes: ROUTES,
    cookies: {
      keys: deps.cookieSigner,
      names: { session: 'sg_oidc_session', interaction: 'sg_oidc_interaction', resume: RESUME_COOKIE },
      // No maxAge: the session cookie ends with the browser, as Stepgate's own does. oidc-provider
      // adds an Expires (the session's ttl) only to a remembered login; Stepgate's are not (binding.ts, passive-sso.ts).
      long: { httpOnly: true, sameSite: 'lax', secure },
      short: { httpOnly: true, sameSite: 'lax', secure },
    },
    ttl: {
      AccessToken: config.oidc.accessTokenTtlSeconds,
      AuthorizationCode: config.oidc.authorizationCodeTtlSeconds,
      IdToken: config.oidc.idTokenTtlSeconds,
      // A rotated token ends when the one it replaces would have: the Grant (the same lifetime, from
      // the sign-in) ends then, and a full new lifetime was told at introspection but refused.
      RefreshToken: (ctx) => Math.max(1, ctx?.oidc?.entities.RotatedRefreshToken?.remainingTTL ?? config.oidc.refreshTokenTtlSeconds),
      Grant: config.oidc.refreshTokenTtlSeconds,
      Interaction: INTERACTION_TTL_SECONDS,
      // An upper bound only: SessionAdapter ends the provider session with the Stepgate session. A
      // session nobody signed in to only carries a sign-out confirmation (session-adapter.ts): it
      // lasts as a sign-in's page does; a confirmation sent later gets the "Not signed out" page,
      // which offers the sign-out again.
      Session: (_ctx, session) => (session.accountId ? mirrorTtl : INTERACTION_TTL_SECONDS),
    },
  };
  const provider = new Provider(config.server.publicUrl, configuration);
  matchRedirectUrisAsStepgate(provider);
  return provider;
}

/**
 * oidc-provider asks a client these two questions of every redirect and post-logout redirect URI
 * (its own wildcard recipe replaces them the same way); they get Stepgate's rule, which also
 * decides at the finish of a sign-in and at the token endpoint (redirect-uri.ts). Not oidc-provider's
 * `application_type: 'native'`: it would also free the port of `localhost`, and refuse a public
 * client's https URIs on a loopback host.
 */
function matchRedirectUrisAsStepgate(provider: Provider): void {
  const { prototype } = provider.Client;
  prototype.redirectUriAllowed = function redirectUriAllowed(this: Client, uri: string): boolean {
    return redirectUriRegistered(this.redirectUris ?? [], uri, this.clientAuthMethod === 'none');
  };
  prototype.postLogoutRedirectUriAllowed = function postLogoutRedirectUriAllowed(this: Client, uri: string): boolean {
    return redirectUriRegistered(this.postLogoutRedirectUris ?? [], uri, this.clientAuthMethod === 'none');
  };
}

/** The longest a Stepgate SSO session can live. */
function sessionTtlSeconds(services: Services): number {
  return Math.ceil(services.config.session.absoluteTimeoutHours * 3600);
}

/**
 * How long provider sessions and their links are kept: as long as their SSO session can live, and a
 * margin in which the sweep of ended sessions finds them and removes their grants (ended-session-sweep.ts).
 */
export function mirrorTtlSeconds(services: Services): number {
  return sessionTtlSeconds(services) + SWEEP_MARGIN_SECONDS;
}

/**
 * Cross-origin requests from a browser: userinfo for any client, everything else only for public
 * clients (SPAs), each from the origin of one of its redirect URIs. oidc-provider's default, written
 * out so it does not print a notice outside the JSON log.
 */
function corsForPublicClients(ctx: KoaContextWithOIDC, origin: string, client: Client): boolean {
  if (origin === 'null') return false;
  if (ctx.oidc.route !== 'userinfo' && client.clientAuthMethod !== 'none') return false;
  return client.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) ?? false;
}
