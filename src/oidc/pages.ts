import type { Request } from 'express';
import { errors, type ErrorOut, type KoaContextWithOIDC } from 'oidc-provider';
import { ERROR_CATALOGUE, errorTitle } from '../core/errors.ts';
import type { SafeHtml } from '../http/html.ts';
import { messagePage } from '../../views/message.ts';
import { signedOutPage } from '../../views/signed-out.ts';
import { oidcErrorPage } from '../../views/oidc/error.ts';
import { oidcLogoutConfirmPage } from '../../views/oidc/logout-confirm.ts';
import type { UserLookup } from '../directory/user-lookup.ts';
import type { Logger } from '../core/log.ts';
import type { SsoSession } from '../session/sso-session.ts';
import type { SessionService } from '../session/session-service.ts';

/** The pages oidc-provider renders itself, in Stepgate's layout. */

function send(ctx: KoaContextWithOIDC, page: SafeHtml): void {
  ctx.type = 'html';
  ctx.body = page.value;
}

function requestId(ctx: KoaContextWithOIDC): string | undefined {
  // Under Express, ctx.req is the Express request that requestContext() gave an id.
  return (ctx.req as Request).requestId;
}

/** The request's own logger (its lines carry the request id), from requestContext() like the id. */
function requestLog(ctx: KoaContextWithOIDC): Logger | undefined {
  return (ctx.req as Request).log;
}

/**
 * The routes a browser is sent to: the others (token, userinfo, introspection, revocation…) are
 * called by an application's back end, whose HTTP client may still prefer HTML.
 */
const BROWSER_ROUTES: ReadonlySet<string> = new Set(['authorization', 'resume', 'end_session', 'end_session_confirm', 'end_session_success']);

/**
 * Errors that cannot be sent back to the application (no trusted redirect_uri), in plain words, and
 * whom to contact. oidc-provider asks for a page whenever the request prefers HTML: a back-end route
 * answers its JSON error all the same (RFC 6749 5.2, RFC 6750 3, RFC 7662, RFC 7009).
 */
export function errorRenderer(helpdesk: string | undefined, sessions: SessionService): (ctx: KoaContextWithOIDC, out: ErrorOut, error: Error) => Promise<void> {
  return async (ctx, out, error) => {
    const route = ctx.oidc?.route;
    if (route !== undefined && !BROWSER_ROUTES.has(route)) {
      ctx.body = out;
      return;
    }
    if (ctx.oidc?.route === 'end_session_confirm' && out.error !== 'server_error') return sendLogoutNotConfirmed(ctx, sessions);
    const { title, message } = describe(out, error, ctx.oidc?.route === 'end_session');
    // A server error's description says nothing useful to anyone; its details are in the log.
    const description = out.error === 'server_error' ? undefined : out.error_description;
    send(ctx, oidcErrorPage({ title, message, error: out.error, description, requestId: requestId(ctx), helpdesk }));
  };
}

/** `logout`: the refused request was a sign-out (end_session), not a sign-in. */
function describe(out: ErrorOut, error: Error, logout: boolean): { title: string; message: string } {
  if (error instanceof errors.SessionNotFound) return { title: 'Sign-in expired', message: ERROR_CATALOGUE.TRANSACTION_UNKNOWN.message };
  switch (out.error) {
    case 'invalid_client':
      return { title: 'Unknown application', message: ERROR_CATALOGUE.RP_UNKNOWN.message };
    case 'invalid_redirect_uri':
      // The words of the SAML refusal of the same thing (ACS_NOT_REGISTERED): what happened, that nothing was sent, what to do.
      return { title: errorTitle('ACS_NOT_REGISTERED'), message: ERROR_CATALOGUE.ACS_NOT_REGISTERED.message };
    case 'server_error':
      return { title: 'Something went wrong', message: ERROR_CATALOGUE.INTERNAL.message };
    default:
      return { title: 'Request not accepted', message: `The application sent a ${logout ? 'sign-out' : 'sign-in'} request that this sign-in service cannot accept. Go back to the application, and tell its administrator or your helpdesk.` };
  }
}

/**
 * A sign-out confirmation oidc-provider refused ended nothing: its page had been replaced by a newer
 * one (opened in another tab, or gone back to), or the form came without the page's xsrf value. The
 * application did nothing wrong, so the page does not send the user to its administrator: it says
 * whether they are still signed in (someone at a shared computer must not walk away believing they
 * signed out) and offers the sign-out again, which asks afresh.
 */
async function sendLogoutNotConfirmed(ctx: KoaContextWithOIDC, sessions: SessionService): Promise<void> {
  const signedIn = ctx.oidc.session?.accountId !== undefined || (await sessions.toSignOut(ctx.req as Request)) !== undefined;
  if (!signedIn) return send(ctx, signedOutPage({ sessionEnded: false }));
  send(
    ctx,
    messagePage({
      title: 'Not signed out',
      message: 'You are still signed in: this sign-out page was no longer valid (a newer one may have been opened in another tab or window), so nothing was done.',
      link: { href: ctx.oidc.urlFor('end_session'), label: 'Sign out' },
      requestId: requestId(ctx),
    }),
  );
}

/**
 * RP-initiated logout asks first, and names the account signed in on this browser: the one a
 * confirmation signs out. An id_token_hint for another account (RP-Initiated Logout 1.0 §2: treat
 * as suspect) is said so, rather than signing out whoever is here without a word.
 */
export function logoutSource(users: UserLookup, sessions: SessionService): (ctx: KoaContextWithOIDC) => Promise<void> {
  return async (ctx) => {
    // A browser left idle past its timeout (its session may still back tokens) is not told who was
    // signed in on it, nor whether a hint names that account: whoever sits there now may not be them.
    const browser = await sessions.toSignOut(ctx.req as Request);
    if (!browser || !sessions.isLiveForBrowser(browser)) return sendLogoutConfirmation(ctx, {});
    const accountId = ctx.oidc.session?.accountId;
    // Without the directory's answer the page still asks, only without the name; the failure is logged.
    const signedIn = accountId
      ? await users.find(accountId).catch((error: unknown) => {
          requestLog(ctx)?.warn({ event: 'oidc.logout.user-unknown', userId: accountId, error: error instanceof Error ? error.message : String(error) }, 'oidc: the logout page names no account: the directory did not answer who is signed in');
          return null;
        })
      : null;
    sendLogoutConfirmation(ctx, { accountId, username: signedIn?.username });
  };
}

/**
 * The same question when the browser has a Stepgate SSO session but no provider session (it signed in
 * to SAML applications only): oidc-provider would confirm on its own, with nobody signed in to ask about.
 */
export function ssoLogoutSource(ctx: KoaContextWithOIDC, sso: SsoSession, named: boolean): void {
  sendLogoutConfirmation(ctx, named ? { accountId: sso.user.id, username: sso.user.username } : {});
}

function sendLogoutConfirmation(ctx: KoaContextWithOIDC, signedIn: { accountId?: string; username?: string }): void {
  const hintSubject = ctx.oidc.entities.IdTokenHint?.payload.sub;
  send(
    ctx,
    oidcLogoutConfirmPage({
      action: ctx.oidc.urlFor('end_session_confirm'),
      xsrf: String(ctx.oidc.session!.state!.secret),
      clientName: ctx.oidc.client?.clientName,
      username: signedIn.username,
      hintForAnotherAccount: hintSubject !== undefined && signedIn.accountId !== undefined && hintSubject !== signedIn.accountId,
    }),
  );
}

/** What a confirmed RP-initiated logout did, for the page it ends on. */
export type LogoutOutcome = 'ended' | 'kept';

const LOGOUT_OUTCOME_COOKIE = 'sg_oidc_logout_outcome';
const LOGOUT_OUTCOME_SECONDS = 60;

function outcomeCookiePath(ctx: KoaContextWithOIDC): string {
  return new URL(ctx.oidc.urlFor('end_session_success')).pathname;
}

/**
 * Tells the page the browser goes to next what the logout did. A signed cookie for that page only,
 * not a query parameter: a link from anywhere could otherwise make it say "signed out" to someone
 * still signed in.
 */
export function rememberLogoutOutcome(ctx: KoaContextWithOIDC, outcome: LogoutOutcome): void {
  ctx.cookies.set(LOGOUT_OUTCOME_COOKIE, outcome, { signed: true, httpOnly: true, sameSite: 'lax', path: outcomeCookiePath(ctx), maxAge: LOGOUT_OUTCOME_SECONDS * 1000 });
}

/** The outcome remembered for this page, read once. */
function takeLogoutOutcome(ctx: KoaContextWithOIDC): LogoutOutcome | undefined {
  const outcome = ctx.cookies.get(LOGOUT_OUTCOME_COOKIE, { signed: true });
  if (outcome === undefined) return undefined;
  ctx.cookies.set(LOGOUT_OUTCOME_COOKIE, null, { signed: true, httpOnly: true, sameSite: 'lax', path: outcomeCookiePath(ctx) });
  return outcome === 'ended' || outcome === 'kept' ? outcome : undefined;
}

/**
 * Where RP-initiated logout ends when the client gave no post_logout_redirect_uri. oidc-provider
 * names the client here (client_id) only when the user chose "Stay signed in": it then signs the
 * user out of that one client (its grant revoked, its Logout Token sent) and keeps the session, so
 * the page must not say "signed out" as if everything had ended. Otherwise the page says "signed out"
 * only when session-sync.ts remembered that a session ended: a browser signed in nowhere was asked
 * nothing and had nothing to end.
 */
export async function postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
  const outcome = takeLogoutOutcome(ctx);
  const stayed = ctx.oidc.client;
  if (stayed) {
    const application = stayed.clientName ?? 'the application';
    return send(ctx, messagePage({ title: 'Still signed in', message: `You are signed out of ${application} only. You are still signed in here, for your other applications. You can close this window.`, outcome: true }));
  }
  if (outcome === 'kept') return send(ctx, messagePage({ title: 'Still signed in', message: 'You are still signed in here. You can close this window.', outcome: true }));
  send(ctx, signedOutPage({ sessionEnded: outcome === 'ended' }));
}
