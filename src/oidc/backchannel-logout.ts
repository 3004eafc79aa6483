import type { Request } from 'express';
import type { AdapterPayload, default as Provider, KoaContextWithOIDC } from 'oidc-provider';
import type { AuditLog } from '../store/store.ts';
import type { Logger } from '../core/log.ts';
import type { SsoSession } from '../session/sso-session.ts';
import { logoutIn, type LogoutContext } from '../session/session-service.ts';
import type { KvAdapter } from './adapter.ts';
import type { SsoLinks } from './sso-links.ts';
import type { SessionService } from '../session/session-service.ts';
import type { ClientRevocations } from './client-revocations.ts';
import { oneTurnAtATime } from './session-turns.ts';
import { grantIdsOf } from './session-grants.ts';

/** The part of oidc-provider's Client model used here; its published types lack backchannelLogout. */
interface LogoutClient {
  backchannelLogoutUri?: string;
  /** Builds and signs the Logout Token (sid only when the client requires it) and POSTs it; rejects unless 200 or 204. */
  backchannelLogout(sub: string, sid: string | undefined): Promise<void>;
}

interface Notice {
  clientId: string;
  accountId: string;
  /** The SSO session's, for `audit --user <name>`; absent when no SSO session of this account was at hand. */
  username?: string;
  sid?: string;
}

/** Where a logout came from, for the log and the audit: the session service's trigger. */
type Trigger = LogoutContext['trigger'];

export interface BackchannelLogoutDeps {
  provider: Provider;
  /** The Session model's own storage, without SessionAdapter: that one refuses (and deletes) mirrors of an ended SSO session, which is what this reads. */
  providerSessions: KvAdapter;
  /** A client removed since the session signed in to it is not told, also when its client_id is registered again. */
  revocations: ClientRevocations;
  links: SsoLinks;
  /** The browser's SSO session during an RP-initiated logout, for the username (read by session-sync.ts in the same request anyway). */
  sessions: Pick<SessionService, 'toSignOut'>;
  audit: AuditLog;
  logger: Logger;
}

/**
 * OpenID Connect Back-Channel Logout 1.0: when the user signs out of a Stepgate SSO session (Stepgate's
 * logout page, SAML Single Logout, or a relying party's logout), every client that was issued a code
 * through it (served-clients.ts: a client only asked, or refused, has no place in the session) and
 * registered a back-channel logout URI is sent a Logout Token, and the provider sessions
 * mirroring it end. oidc-provider builds, signs and sends the tokens (Client#backchannelLogout); its
 * own end_session already does this for the provider session a relying party logs out of, so that
 * session's link is removed first (session-sync.ts) and only its events are reported here.
 */
export class BackchannelLogout {
  readonly #deps: BackchannelLogoutDeps;

  constructor(deps: BackchannelLogoutDeps) {
    this.#deps = deps;
    this.#reportProviderEvents();
  }

  /**
   * SessionService logout listener. Never rejects for a relying party's failure: each one is logged
   * and audited. Answers the grants of the provider sessions it ended, as they were when they ended.
   */
  async afterLogout(sso: SsoSession, context: LogoutContext): Promise<string[]> {
    const notices: Notice[] = [];
    const grantIds: string[] = [];
    for (const uid of await this.#deps.links.mirrorsOf(sso.id)) {
      // Ended here rather than at its next read, so nothing (a token request, a prompt=none) finds it
      // in between; in the session's turn and marked ended, so a save under way cannot store it again.
      const session = await oneTurnAtATime(uid, async () => {
        const stored = await this.#deps.providerSessions.findByUid(uid);
        await this.#deps.links.end(uid);
        if (stored) await this.#deps.providerSessions.destroy(String(stored.jti));
        return stored;
      });
      grantIds.push(...grantIdsOf(session));
      if (!session?.accountId) continue;
      const authorizations = await this.#deps.revocations.kept(session.authorizations ?? {});
      const accountId = String(session.accountId);
      const username = sso.user.id === accountId ? sso.user.username : undefined;
      for (const [clientId, { sid }] of Object.entries(authorizations)) notices.push({ clientId, accountId, username, sid });
    }
    // In parallel, each capped by oidc-provider's 2.5 s request timeout: the user's answer waits at most that long.
    await Promise.all(notices.map((notice) => this.#notify(notice, context)));
    return grantIds;
  }

  /**
   * RP-initiated "sign out everywhere": the clients of the ended provider session that oidc-provider
   * did not tell, because another tab added them after it had loaded the session (session-adapter.ts).
   */
  async tellUntold(ctx: KoaContextWithOIDC, ended: AdapterPayload): Promise<void> {
    const accountId = String(ended.accountId);
    const authorizations = await this.#deps.revocations.kept(ended.authorizations ?? {});
    // A store that cannot read the session costs the notices their username, not the notices.
    const sso = await this.#deps.sessions.toSignOut(ctx.req as Request).catch(() => undefined);
    const username = sso?.user.id === accountId ? sso.user.username : undefined;
    const context = logoutIn(ctx.req as Request, 'oidc-rp-initiated');
    await Promise.all(Object.entries(authorizations).map(([clientId, { sid }]) => this.#notify({ clientId, accountId, username, sid }, context)));
  }

  async #notify(notice: Notice, context: LogoutContext): Promise<void> {
    let client: LogoutClient | undefined;
    try {
      // @types/oidc-provider lacks the back-channel logout members the feature adds to Client.
      client = (await this.#deps.provider.Client.find(notice.clientId)) as unknown as LogoutClient | undefined;
      if (!client?.backchannelLogoutUri) return;
      await client.backchannelLogout(notice.accountId, notice.sid);
    } catch (error) {
      await this.#report(context, context.trigger, notice, error);
      return;
    }
    await this.#report(context, context.trigger, notice);
  }

  /** oidc-provider's end_session (RP-initiated logout) sends its own Logout Tokens and only tells through events. */
  #reportProviderEvents(): void {
    const { provider } = this.#deps;
    const report = async (ctx: KoaContextWithOIDC, client: { clientId: string }, accountId: string, sid: string, error?: unknown) => {
      // A store that cannot read the session costs the event its username, not the event.
      // Also a browser idle past its timeout: its sign-out still ends the session (toSignOut).
      const sso = await this.#deps.sessions.toSignOut(ctx.req as Request).catch(() => undefined);
      const username = sso?.user.id === accountId ? sso.user.username : undefined;
      // Mounted under Express, koa's ctx.req is the Express request.
      await this.#report(ctx.req as Request, 'oidc-rp-initiated', { clientId: client.clientId, accountId, username, sid }, error);
    };
    provider.on('backchannel.success', (ctx, client, accountId, sid) => void report(ctx, client, accountId, sid));
    provider.on('backchannel.error', (ctx, error, client, accountId, sid) => void report(ctx, client, accountId, sid, error));
  }

  /** One log line and one audit event per relying party told; never the token itself. */
  async #report(context: Partial<LogoutContext>, trigger: Trigger, notice: Notice, error?: unknown): Promise<void> {
    const log = context.log ?? this.#deps.logger;
    const failure = error === undefined ? undefined : describeFailure(error);
    const facts = { event: 'oidc.backchannel-logout', clientId: notice.clientId, userId: notice.accountId, trigger };
    if (failure) log.warn({ ...facts, outcome: 'failure', ...failure }, `oidc: back-channel logout of ${notice.clientId} failed: ${failure.reason}`);
    // oidc-provider resolves only on 200 or 204 and does not hand the response on.
    else log.info({ ...facts, outcome: 'success' }, `oidc: back-channel logout of ${notice.clientId} accepted (200/204)`);
    try {
      await this.#deps.audit.record({ type: 'oidc.backchannel-logout', outcome: failure ? 'failure' : 'success', rp: notice.clientId, userId: notice.accountId, username: notice.username, reason: failure?.reason, status: failure?.status, via: trigger, requestId: context.requestId });
    } catch (auditError) {
      log.error({ event: 'oidc.backchannel-logout.audit-failed', err: auditError, clientId: notice.clientId }, 'oidc: back-channel logout audit event not written');
    }
  }
}

/** A short, token-free reason: the relying party's HTTP status, a timeout, or the network error's code. */
function describeFailure(error: unknown): { reason: string; status?: number } {
  const failure = error as { name?: string; message?: string; response?: { status?: number }; cause?: { code?: string; message?: string } };
  const status = failure.response?.status;
  if (typeof status === 'number') return { reason: `answered ${status}`, status };
  if (failure.name === 'TimeoutError' || failure.name === 'AbortError') return { reason: 'no answer in time' };
  // fetch's own "fetch failed" says nothing; its cause has the connection error.
  const cause = failure.cause?.code ?? failure.cause?.message;
  if (cause) return { reason: `not reachable (${cause})` };
  return { reason: failure.message ?? String(error) };
}

/**
 * oidc-provider's `fetch`, used only for Logout Tokens: dynamic registration, request_uri, client
 * metadata documents, client jwks_uri and CIBA pings are all off. The library's default agent refuses
 * loopback and private addresses (against server-side request forgery by self-registered clients);
 * Stepgate's clients are registered by the administrator, and their back-channel endpoints often sit
 * on private networks, so that agent is not used. Its 2.5 s timeout and `redirect: 'manual'` stay.
 */
export function logoutTokenFetch(url: string | URL | globalThis.Request, init?: RequestInit): Promise<Response> {
  const { dispatcher: _ssrfAgent, ...options } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
  return globalThis.fetch(url, options);
}
