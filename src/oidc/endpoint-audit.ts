import { clipCallerText } from '../core/caller-text.ts';
import type { Request } from 'express';
import type { default as Provider, KoaContextWithOIDC } from 'oidc-provider';
import type { AuditEvent, AuditLog } from '../store/store.ts';

/** The part of oidc-provider's errors the audit reads: the OAuth error code, never the description (it may quote the request). */
interface ProviderError {
  error: string;
}

/** What oidc-provider's events and Stepgate's own hooks told about one request, for the one audit event written as it ends. */
interface Told {
  /** oidc-provider issued the tokens (grant.success). */
  issued?: boolean;
  error?: string;
  grantRevoked?: boolean;
  /** Stepgate refused to exchange a code or refresh token (exchange-check.ts): why, and the SSO session's username when it still had one. */
  exchangeRefused?: { reason: string; username?: string };
  /** The account of a code used a second time, read before the revocation deleted the code. */
  replayedCodeAccountId?: string;
  /** A refused userinfo request's token as stored, when oidc-provider did not take it. */
  presented?: TokenOwner;
}

/** Whose a stored access token is. */
interface TokenOwner {
  clientId?: string;
  accountId?: string;
}

/** The routes audited here; a success is audited only where it says something an incident review needs. */
const AUDITED_ROUTES: ReadonlySet<string> = new Set(['token', 'revocation', 'introspection', 'userinfo', 'authorization', 'resume', 'end_session', 'end_session_confirm']);

/** The error events of those routes (a resume reports as the authorization it continues). */
const ERROR_EVENTS = ['grant.error', 'revocation.error', 'introspection.error', 'userinfo.error', 'authorization.error', 'end_session.error', 'end_session_confirm.error'] as const;

/**
 * prompt=none's answers that a sign-in is needed: an SPA's silent check at every page load and every
 * silent renew gets one, so as failures they would fill the per-address audit budget that wrong
 * passwords and redirect-URI probes need (one NAT address serves a whole office).
 */
const PASSIVE_ANSWERS: ReadonlySet<string> = new Set(['login_required', 'interaction_required', 'consent_required', 'account_selection_required']);

/** oidc-provider's kinds of token as the OAuth token_type_hint names them (RFC 7009). */
const TOKEN_KINDS = [
  ['RefreshToken', 'refresh_token'],
  ['AccessToken', 'access_token'],
] as const;

/**
 * One audit event per request at the token endpoint (`oidc.token` for a code, `oidc.refresh` for a
 * refresh grant, success or failure), per revocation (`oidc.revoke`), per refused introspection
 * (`oidc.introspect`) or userinfo (`oidc.userinfo`) request, per authorization request oidc-provider
 * refuses (`oidc.sign-in` failure: an unknown client, a redirect URI not registered, a request it
 * does not support, and what the client is told, prompt=none's login_required among them) and per
 * refused RP-initiated logout (`oidc.logout` failure). oidc-provider answers these requests
 * itself and tells only through events, several per request (a replayed code revokes its grant, then
 * fails; a request with an unregistered redirect URI reports its first fault, then that one), so the
 * events only note facts and the middleware writes the event once the answer is ready, before it is
 * sent. Failures carry the client's IP: the audit log's throttle bounds a flood of them. Never a
 * token, code, secret or session id: kinds and ids only.
 */
export class EndpointAudit {
  readonly #audit: AuditLog;
  readonly #told = new WeakMap<KoaContextWithOIDC, Told>();

  constructor(audit: AuditLog) {
    this.#audit = audit;
  }

  /** Subscribes to the provider's events; once per provider. */
  watch(provider: Provider): void {
    const on = provider.on.bind(provider) as (event: string, listener: (ctx: KoaContextWithOIDC, error: ProviderError) => void) => void;
    for (const event of ERROR_EVENTS) on(event, (ctx, error) => this.#tell(ctx, { error: error.error }));
    provider.on('grant.success', (ctx) => this.#tell(ctx, { issued: true }));
    // Also emitted by an RP-initiated logout, whose route is not audited here.
    provider.on('grant.revoked', (ctx) => this.#tell(ctx, { grantRevoked: true }));
  }

  /** findAccount refused a code or refresh grant (`policy`, `redirect-uri-removed`); the invalid_grant oidc-provider then reports gets this reason. */
  exchangeRefused(ctx: KoaContextWithOIDC, reason: string, username?: string): void {
    this.#tell(ctx, { exchangeRefused: { reason, username } });
  }

  /**
   * Just before oidc-provider revokes a grant. A code used a second time is the only failure whose
   * account is known nowhere else: the code is not in the request's entities yet, and the revocation
   * deletes it. One lookup, on that failure only.
   */
  async beforeGrantRevoked(ctx: KoaContextWithOIDC): Promise<void> {
    const { route, params } = ctx.oidc;
    if (route !== 'token' || params?.grant_type !== 'authorization_code' || typeof params.code !== 'string') return;
    const code = await ctx.oidc.provider.AuthorizationCode.find(params.code, { ignoreExpiration: true });
    if (code) this.#tell(ctx, { replayedCodeAccountId: code.accountId });
  }

  /** Koa middleware around oidc-provider's routes. */
  middleware() {
    return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<void> => {
      await next();
      // ctx.oidc only exists when one of oidc-provider's routes handled the request.
      const route = ctx.oidc?.route;
      if (route === undefined || !AUDITED_ROUTES.has(route)) return;
      const told = this.#told.get(ctx) ?? {};
      if (route === 'userinfo' && told.error && !ctx.oidc.entities.AccessToken) told.presented = await presentedToken(ctx);
      const event = describe(route, ctx, told);
      if (!event) return;
      const req = ctx.req as Request;
      await this.#audit.record({ ...event, ip: req.clientIp, requestId: req.requestId });
    };
  }

  #tell(ctx: KoaContextWithOIDC, facts: Told): void {
    this.#told.set(ctx, { ...this.#told.get(ctx), ...facts });
  }
}

function describe(route: string, ctx: KoaContextWithOIDC, told: Told): AuditEvent | undefined {
  if (route === 'token') return tokenEvent(ctx, told);
  if (route === 'revocation') return told.error ? failure('oidc.revoke', ctx, told.error) : revocationEvent(ctx);
  if (!told.error) return undefined;
  if (route === 'authorization') return PASSIVE_ANSWERS.has(told.error) ? undefined : failure('oidc.sign-in', ctx, signInRefusalReason(ctx, told.error));
  if (route === 'resume') return resumeRefusal(ctx, told.error);
  if (route === 'end_session' || route === 'end_session_confirm') return logoutRefusal(route, ctx, told.error);
  return failure(route === 'introspection' ? 'oidc.introspect' : 'oidc.userinfo', ctx, told.error, told.presented);
}

/**
 * A refused authorization request: the OAuth error, except for two a review looks for by name. An
 * unknown client_id is `rp-unknown` (as SAML's unknown issuer); a redirect URI the client does not
 * have is `redirect-uri-not-registered` (as SAML's ACS_NOT_REGISTERED), also when the request had
 * another fault first. The error's description stays in the log line of the same requestId.
 */
function signInRefusalReason(ctx: KoaContextWithOIDC, error: string): string {
  if (error === 'invalid_client' && !ctx.oidc.client) return 'rp-unknown';
  return error === 'invalid_redirect_uri' ? 'redirect-uri-not-registered' : error;
}

/**
 * A resumed sign-in whose client was removed meanwhile (`rp-removed`): its client_id was registered
 * when the sign-in began, so not a claim. Any other refusal on a resume is Stepgate's own answer,
 * audited where the sign-in handed it over (interactions.ts).
 */
function resumeRefusal(ctx: KoaContextWithOIDC, error: string): AuditEvent | undefined {
  if (error !== 'invalid_client' || ctx.oidc.client) return undefined;
  return { type: 'oidc.sign-in', outcome: 'failure', reason: 'rp-removed', rp: clipCallerText(ctx.oidc.params?.client_id) };
}

/**
 * A refused RP-initiated logout, with the account signed in on the browser (its sign-out did not
 * happen). Any refusal of the confirmation is `confirmation-invalid` (a page replaced by a newer one,
 * or a form without its xsrf value); of the request, `rp-unknown`,
 * `post-logout-redirect-uri-not-registered`, `id-token-hint-other-client` (client_id names another
 * client than the id_token_hint's audience), or the OAuth error.
 */
function logoutRefusal(route: string, ctx: KoaContextWithOIDC, error: string): AuditEvent {
  const userId = ctx.oidc.session?.accountId;
  return { ...failure('oidc.logout', ctx, route === 'end_session_confirm' ? 'confirmation-invalid' : logoutRefusalReason(ctx, error)), ...(userId && { userId }) };
}

function logoutRefusalReason(ctx: KoaContextWithOIDC, error: string): string {
  const { client, params, entities } = ctx.oidc;
  if (error === 'invalid_client' && !client) return 'rp-unknown';
  if (error !== 'invalid_request') return error;
  // The client is only taken once its id_token_hint checked out: what is left to refuse is the URI.
  const uri = params?.post_logout_redirect_uri;
  if (client && typeof uri === 'string' && !client.postLogoutRedirectUriAllowed(uri)) return 'post-logout-redirect-uri-not-registered';
  const hintedClient = entities.IdTokenHint?.payload.aud;
  if (!client && typeof params?.client_id === 'string' && hintedClient !== undefined && params.client_id !== hintedClient) return 'id-token-hint-other-client';
  return error;
}

function tokenEvent(ctx: KoaContextWithOIDC, told: Told): AuditEvent | undefined {
  const grantType = ctx.oidc.params?.grant_type;
  const type = grantType === 'refresh_token' ? 'oidc.refresh' : 'oidc.token';
  const { entities } = ctx.oidc;
  const userId = entities.RefreshToken?.accountId ?? entities.AuthorizationCode?.accountId ?? told.replayedCodeAccountId;
  const username = accountUsername(ctx) ?? told.exchangeRefused?.username;
  const facts = { type, userId, username, ...(type === 'oidc.token' && grantType !== 'authorization_code' && { grantType: clipCallerText(grantType) }) };
  if (told.issued) return { ...facts, outcome: 'success', rp: ctx.oidc.client?.clientId };
  if (!told.error) return undefined;
  // Both revoke the grant: every token issued from it stops working.
  if (told.error === 'invalid_grant' && told.grantRevoked) return { ...failure(type, ctx, type === 'oidc.refresh' ? 'refresh-token-reuse' : 'code-reuse'), ...facts, grantRevoked: true };
  if (told.error === 'invalid_grant' && told.exchangeRefused) return { ...failure(type, ctx, told.exchangeRefused.reason), ...facts };
  return { ...failure(type, ctx, told.error), ...facts };
}

/**
 * A refused request. rp is the client that authenticated; when it did not (invalid_client, or the
 * request failed before), the client_id it claimed, marked `rpClaimed`; else, for a userinfo request,
 * the client its access token was issued to (one removed since, say), so `audit --rp` finds it.
 */
function failure(type: string, ctx: KoaContextWithOIDC, reason: string, presented?: TokenOwner): AuditEvent {
  const { client, entities } = ctx.oidc;
  const authenticated = client && reason !== 'invalid_client';
  const claimed = authenticated ? undefined : claimedClientId(ctx);
  const token: TokenOwner | undefined = entities.AccessToken ?? presented;
  const rp = authenticated ? client.clientId : (claimed ?? token?.clientId);
  const userId = token?.accountId;
  return { type, outcome: 'failure', reason, rp, ...(claimed && { rpClaimed: true }), ...(userId && { userId, username: accountUsername(ctx) }) };
}

/**
 * The access token a refused userinfo request presented, as stored, when oidc-provider did not take
 * it (its provider session no longer holds the client, e.g. one removed since): whose it was. One
 * read, on refusals only; a token never issued, or expired, is not stored.
 */
async function presentedToken(ctx: KoaContextWithOIDC): Promise<TokenOwner | undefined> {
  let value: string;
  try {
    value = ctx.oidc.getAccessToken({ acceptDPoP: true });
  } catch {
    return undefined;
  }
  return (await ctx.oidc.provider.AccessToken.adapter.find(value)) ?? undefined;
}

/**
 * RFC 7009 answers 200 whether or not anything was revoked; the audit tells which: the client's own
 * token, none found, or another client's (left alone). oidc-provider ends every token of the grant
 * either way, so no `grantRevoked` here: it would tell a difference (whether the grant record goes
 * too) that changes nothing for the client.
 */
function revocationEvent(ctx: KoaContextWithOIDC): AuditEvent {
  const { client, entities } = ctx.oidc;
  const rp = client?.clientId;
  const found = TOKEN_KINDS.map(([entity, tokenKind]) => ({ token: entities[entity] as { clientId?: string; accountId?: string } | undefined, tokenKind })).find(({ token }) => token);
  if (!found) return { type: 'oidc.revoke', outcome: 'success', reason: 'token-unknown', rp };
  const facts = { type: 'oidc.revoke', rp, tokenKind: found.tokenKind, userId: found.token!.accountId };
  // The revocation policy (ownTokensOnly, provider.ts) leaves another client's token alone.
  if (found.token!.clientId !== rp) return { ...facts, outcome: 'failure', reason: 'other-client-token' };
  return { ...facts, outcome: 'success' };
}

/** Stepgate's findAccount puts the directory's username on the account (account.ts): no lookup of its own. */
function accountUsername(ctx: KoaContextWithOIDC): string | undefined {
  const username = ctx.oidc.entities.Account?.username;
  return typeof username === 'string' ? username : undefined;
}

/** The client_id a request names: as a parameter, or before the colon of its Basic credentials (the secret after it is never read). */
function claimedClientId(ctx: KoaContextWithOIDC): string | undefined {
  const param = ctx.oidc.params?.client_id;
  if (typeof param === 'string') return clipCallerText(param);
  const [scheme, credentials] = (ctx.get('authorization') || '').split(' ');
  if (scheme?.toLowerCase() !== 'basic' || !credentials) return undefined;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return undefined;
  try {
    // RFC 6749 2.3.1: form-encoded before base64.
    return clipCallerText(decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, '%20')));
  } catch {
    return undefined;
  }
}
