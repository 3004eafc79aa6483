import type { Request, Response } from 'express';
import type { KoaContextWithOIDC, default as Provider } from 'oidc-provider';
import type { SessionService } from '../session/session-service.ts';
import type { SsoSession } from '../session/sso-session.ts';
import type { LogoutPropagation } from '../session/logout-propagation.ts';
import type { AuditLog } from '../store/store.ts';
import type { SilentLogin } from './sso-state.ts';
import type { SsoLinks } from './sso-links.ts';
import type { KvAdapter } from './adapter.ts';
import type { BackchannelLogout } from './backchannel-logout.ts';
import { SSO_RESULT_KEY } from './binding.ts';
import { untoldPlaces } from './session-adapter.ts';
import { oneTurnAtATime } from './session-turns.ts';
import { rememberLogoutOutcome, ssoLogoutSource, type LogoutOutcome } from './pages.ts';

export interface SessionSyncDeps {
  /** Tells the session's SAML participants through the browser before it goes on (saml/slo-propagation.ts). */
  propagateLogout?: LogoutPropagation;
  links: SsoLinks;
  /** The Session model's own storage: whether a provider session is still stored, whatever its SSO session. */
  providerSessions: KvAdapter;
  backchannel: Pick<BackchannelLogout, 'tellUntold'>;
  sessions: SessionService;
  audit: AuditLog;
}

/**
 * Keeps oidc-provider's session a mirror of the Stepgate SSO session at the moments they change
 * hands: when Stepgate's sign-in hands a login back, and when a relying party logs the user out
 * (also from a browser that has an SSO session but no provider session: it signed in to SAML only).
 * (A Stepgate logout or timeout needs nothing here: `SessionAdapter` refuses the mirror from then on,
 * and `BackchannelLogout` tells the clients of a logout.)
 */
export class SessionSync {
  readonly #deps: SessionSyncDeps;

  constructor(deps: SessionSyncDeps) {
    this.#deps = deps;
  }

  /**
   * Before a finished interaction resumes. If the browser already had a provider session, it now
   * mirrors the SSO session that produced the login (a re-authentication starts a new SSO session);
   * if the login is another user's, the old provider session ends and the resume starts a fresh one
   * (instead of oidc-provider's own "sign out the previous user?" page).
   */
  async prepareResume(interaction: InstanceType<Provider['Interaction']>, login: SilentLogin): Promise<void> {
    const previous = interaction.session;
    if (!previous) return;
    if (previous.accountId === login.user.id) {
      // Only while it is still stored: a logout may have ended it since this sign-in's page opened,
      // and a link would let it back (finishInteraction then refuses the resume).
      await oneTurnAtATime(previous.uid, async () => {
        if (await this.#deps.links.ended(previous.uid)) return;
        if (await this.#deps.providerSessions.findByUid(previous.uid)) await this.#deps.links.set(previous.uid, login.sessionId);
      });
      return;
    }
    // Ended as a logout ends it, so that a save of it under way cannot store it again.
    await oneTurnAtATime(previous.uid, async () => {
      const stored = await this.#deps.providerSessions.findByUid(previous.uid);
      await this.#deps.links.end(previous.uid);
      if (stored) await this.#deps.providerSessions.destroy(String(stored.jti));
    });
    // The caller saves the interaction with its result.
    interaction.session = undefined;
  }

  /** Koa middleware around oidc-provider's routes. */
  middleware() {
    return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<void> => {
      await next();
      // ctx.oidc only exists when one of oidc-provider's routes handled the request.
      const route = ctx.oidc?.route;
      if (route === 'resume') await this.#afterResume(ctx);
      else if (route === 'end_session') await this.#askForSsoSession(ctx);
      else if (route === 'end_session_confirm') await this.#afterLogout(ctx);
    };
  }

  /** A new provider session was just created by the resume: record which SSO session it mirrors. */
  async #afterResume(ctx: KoaContextWithOIDC): Promise<void> {
    const { result, session } = ctx.oidc;
    const ssoSessionId = result?.[SSO_RESULT_KEY];
    if (result?.login && typeof ssoSessionId === 'string' && session?.accountId === result.login.accountId) {
      await this.#deps.links.set(session.uid, ssoSessionId);
    }
  }

  /**
   * Without a signed-in provider session oidc-provider confirms the logout itself, by a form that
   * submits at once. When the browser has an SSO session that logout ends it (see #afterLogout), so
   * the user is asked first, as with a provider session: a link from another site must not sign anyone out.
   * A browser signed in nowhere has nothing to confirm: it goes at once where the confirmation would
   * have sent it, and no session was stored for the round trip (session-adapter.ts).
   */
  async #askForSsoSession(ctx: KoaContextWithOIDC): Promise<void> {
    const { session } = ctx.oidc;
    // 200: oidc-provider's own confirmation, not an error page about the request.
    if (ctx.status !== 200 || !session?.state?.secret || session.accountId) return;
    const sso = await this.#deps.sessions.toSignOut(ctx.req as Request);
    // Idle past its timeout for the browser: the page names no one (see logoutSource).
    if (sso) ssoLogoutSource(ctx, sso, this.#deps.sessions.isLiveForBrowser(sso));
    else leaveSignedOut(ctx, session.state as SignOutState);
  }

  /**
   * RP-initiated logout the user confirmed ("yes, sign me out") ends the Stepgate SSO session too:
   * the one the provider session mirrored, or, without a provider session, the browser's SSO session
   * at the time of the confirmation (the page named its user when it asked, #askForSsoSession).
   */
  async #afterLogout(ctx: KoaContextWithOIDC): Promise<void> {
    const { session, params, client } = ctx.oidc;
    // Anything but oidc-provider's 303 onwards is its refusal (a wrong or stale xsrf): nothing was confirmed.
    if (ctx.status !== 303) return;
    if (!params?.logout) return this.#remember(ctx, 'kept');
    const mirrored = session?.accountId;
    // oidc-provider has just sent this session's clients their Logout Tokens and destroyed it, which
    // removed its link too (session-adapter.ts): BackchannelLogout (run by sessions.end below) cannot
    // send them a second one. The clients another tab added to it meanwhile are told here.
    const untold = untoldPlaces(ctx);
    if (untold) await this.#deps.backchannel.tellUntold(ctx, untold);
    // Also when the browser went idle: the session may still back other clients' tokens and SAML sessions.
    const sso = await this.#deps.sessions.toSignOut(ctx.req as Request);
    // Only the SSO session this provider session mirrored, never another one the browser holds.
    if (!sso || (mirrored && sso.user.id !== mirrored)) {
      if (mirrored && !sso) this.#remember(ctx, 'ended');
      return;
    }
    // Mounted under Express, koa's ctx.req / ctx.res are the Express request and response objects.
    await this.#deps.sessions.end(ctx.req as Request, ctx.res as Response, 'oidc-rp-initiated');
    const { clientIp: ip, requestId } = ctx.req as Request;
    await this.#deps.audit.record({ type: 'logout', outcome: 'success', userId: sso.user.id, username: sso.user.username, rp: client?.clientId, reason: 'oidc-rp-initiated', ip, requestId });
    this.#remember(ctx, 'ended');
    await this.#propagate(ctx, sso);
  }

  /** For Stepgate's page the logout ends on (pages.ts), not for a client's post-logout redirect URI. */
  #remember(ctx: KoaContextWithOIDC, outcome: LogoutOutcome): void {
    if (ctx.response.get('Location').startsWith(ctx.oidc.urlFor('end_session_success'))) rememberLogoutOutcome(ctx, outcome);
  }

  /**
   * oidc-provider has answered (a redirect to the client's post-logout URI, or its signed-out page)
   * but not sent it yet. When the session had SAML participants, the browser visits them first and
   * then goes where oidc-provider would have sent it; koa then leaves the response alone.
   */
  async #propagate(ctx: KoaContextWithOIDC, ended: SsoSession): Promise<void> {
    if (!this.#deps.propagateLogout) return;
    const continueTo = ctx.status >= 300 && ctx.status < 400 ? ctx.response.get('Location') : undefined;
    // The SAML hop may answer with a POST form page (200), which must not carry this redirect's Location.
    if (continueTo) ctx.remove('Location');
    const ownPage = !!continueTo && continueTo.startsWith(ctx.oidc.urlFor('end_session_success'));
    const told = await this.#deps.propagateLogout(ctx.req as Request, ctx.res as Response, ended, continueTo || undefined, ownPage);
    if (told) ctx.respond = false;
    else if (continueTo) ctx.set('Location', continueTo);
  }
}

/** What oidc-provider keeps of a sign-out request until its confirmation. */
interface SignOutState {
  postLogoutRedirectUri?: string;
  state?: string;
}

/**
 * Where oidc-provider's confirmation of a sign-out with nobody signed in leads: the client's
 * post-logout redirect URI with its state, or the signed-out page (which then says there was no
 * sign-in to end).
 */
function leaveSignedOut(ctx: KoaContextWithOIDC, { postLogoutRedirectUri, state }: SignOutState): void {
  const target = new URL(postLogoutRedirectUri ?? ctx.oidc.urlFor('end_session_success'));
  if (postLogoutRedirectUri && state != null) target.searchParams.set('state', state);
  ctx.status = 303;
  ctx.redirect(target.href);
}
