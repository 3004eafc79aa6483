import type { Request } from 'express';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { LoginResult } from '../core/types.ts';
import type { SessionService } from '../session/session-service.ts';
import type { SsoSession } from '../session/sso-session.ts';
import type { LoginInteraction } from '../login/interaction.ts';
import type { FlowStep } from '../login/flow.ts';
import type { ClientRegistry } from './client-registry.ts';
import type { SsoLinks } from './sso-links.ts';
import { oidcError, toLoginRequest, type OidcSignInError } from './binding.ts';
import { AppError } from '../core/errors.ts';
import { requestedAtSignIn } from './refresh-requested-context.ts';

export type SilentLogin = Extract<LoginResult, { ok: true }>;

/** 'covered': oidc-provider's session may answer; otherwise the OIDC error a prompt=none request gets. */
export type SsoVerdict = 'covered' | OidcSignInError;

export interface SsoStateDeps {
  sessions: SessionService;
  clients: ClientRegistry;
  links: SsoLinks;
  interaction: LoginInteraction;
}

/**
 * How this browser's Stepgate SSO session relates to the authorization request oidc-provider is
 * handling. Whether a sign-in needs a page (password, MFA step-up, policy refusal) stays Stepgate's
 * decision: this only asks the flow for a preview, so a policy change reaches OIDC sessions that
 * already exist.
 */
export class SsoState {
  readonly #deps: SsoStateDeps;
  /** Keyed by the request (several checks and hooks ask during one request; the answer is computed once). */
  readonly #current = new WeakMap<object, Promise<SsoSession | undefined>>();
  readonly #verdicts = new WeakMap<object, Promise<SsoVerdict>>();

  constructor(deps: SsoStateDeps) {
    this.#deps = deps;
  }

  current(ctx: KoaContextWithOIDC): Promise<SsoSession | undefined> {
    let sso = this.#current.get(ctx.req);
    if (!sso) {
      // Mounted under Express, koa's ctx.req is the Express request object itself.
      sso = this.#deps.sessions.current(ctx.req as Request);
      this.#current.set(ctx.req, sso);
    }
    return sso;
  }

  verdict(ctx: KoaContextWithOIDC): Promise<SsoVerdict> {
    let verdict = this.#verdicts.get(ctx.req);
    if (!verdict) {
      verdict = this.#judge(ctx);
      this.#verdicts.set(ctx.req, verdict);
    }
    return verdict;
  }

  /**
   * Covered when oidc-provider's session mirrors this browser's SSO session and Stepgate's flow
   * would finish the request silently with the same acr. Otherwise: why a page would be needed.
   */
  async #judge(ctx: KoaContextWithOIDC): Promise<SsoVerdict> {
    const { oidc } = ctx;
    // The Stepgate flow has just produced this login for this very request.
    if (oidc.route === 'resume' && oidc.result?.login) return 'covered';
    const sso = await this.current(ctx);
    if (!sso) return 'login_required';
    let step: FlowStep | undefined;
    try {
      step = await this.preview(ctx, sso);
    } catch (error) {
      // A prompt=none request gets an answer it can act on; any other goes on to Stepgate's sign-in,
      // which shows the same failure as a page.
      if (error instanceof AppError && error.code === 'DIRECTORY_UNAVAILABLE') return 'temporarily_unavailable';
      throw error;
    }
    if (!step || step.kind === 'password') return 'login_required';
    if (step.kind === 'denied') return 'access_denied';
    if (step.kind !== 'complete') return 'interaction_required';
    if (!step.result.ok) return oidcError(step.result.error);
    // Not mirrored yet, or the flow now gives another acr: a (silent) pass through Stepgate syncs it
    // (for prompt=none, passive-sso.ts has synced it already).
    return (await this.mirrors(ctx, sso)) && step.result.acr === oidc.session!.acr ? 'covered' : 'login_required';
  }

  /** Whether oidc-provider's session of this request is the mirror of `sso` (same account, linked to it). */
  async mirrors(ctx: KoaContextWithOIDC, sso: SsoSession): Promise<boolean> {
    const session = ctx.oidc.session!;
    return session.accountId === sso.user.id && (await this.#deps.links.get(session.uid)) === sso.id;
  }

  /** The result Stepgate's flow would produce for this request without showing a page, if it would. */
  async silentLogin(ctx: KoaContextWithOIDC, sso: SsoSession): Promise<SilentLogin | undefined> {
    const step = await this.preview(ctx, sso).catch((error: unknown) => {
      // Not silently: the login prompt's verdict turns it into the answer (see #judge).
      if (error instanceof AppError && error.code === 'DIRECTORY_UNAVAILABLE') return undefined;
      throw error;
    });
    return step?.kind === 'complete' && step.result.ok ? step.result : undefined;
  }

  /**
   * A refresh grant: whether the client's policy still lets the user of the SSO session the token
   * is bound to in, for what the sign-in's authorization request asked (a `requested` condition
   * decides as it did then). Its own SessionAdapter check refuses a token whose SSO session ended.
   * With the SSO session while it lasts: its user names a refusal in the audit without another lookup.
   */
  async permitsRefresh(ctx: KoaContextWithOIDC, sessionUid: string | undefined): Promise<{ permitted: boolean; sso?: SsoSession }> {
    const client = ctx.oidc.client && (await this.#deps.clients.get(ctx.oidc.client.clientId));
    const sso = await this.#linked(sessionUid);
    if (!client || !sso) return { permitted: false, sso };
    // oidc-provider has put the refresh token being exchanged in the context before it asks findAccount.
    const requested = requestedAtSignIn(ctx.oidc.entities.RefreshToken?.claims);
    const request = { ...toLoginRequest({ params: {}, reasons: [], interactionUid: '' }, client), requestedAuthnContext: requested };
    return { permitted: await this.#deps.interaction.accounts.permitsRefresh(ctx.req as Request, request, sso), sso };
  }

  /**
   * A client is being given an access token usable until `until` from a code or refresh token bound
   * to provider session `sessionUid`: the SSO session it mirrors is in use until then.
   */
  async usedByTokens(sessionUid: string | undefined, until: number): Promise<void> {
    const sso = await this.#linked(sessionUid);
    if (sso) await this.#deps.sessions.usedByTokensUntil(sso, until);
  }

  /**
   * The directory answered that the account of a code or token bound to provider session
   * `sessionUid` is gone: the SSO session it mirrors ends, as at a reuse of the session.
   */
  async endSessionOfGoneAccount(ctx: KoaContextWithOIDC, sessionUid: string | undefined, accountId: string): Promise<void> {
    const sso = await this.#linked(sessionUid);
    if (sso?.user.id === accountId) await this.#deps.interaction.accounts.endSessionOfUnavailableAccount(ctx.req as Request, sso);
  }

  /** The live SSO session a provider session mirrors, without counting the look as a use of it. */
  async #linked(sessionUid: string | undefined): Promise<SsoSession | undefined> {
    const ssoId = sessionUid && (await this.#deps.links.get(sessionUid));
    return ssoId ? this.#deps.sessions.peek(ssoId) : undefined;
  }

  async preview(ctx: KoaContextWithOIDC, sso: SsoSession): Promise<FlowStep | undefined> {
    const client = await this.#deps.clients.get(ctx.oidc.client!.clientId);
    if (!client) return undefined;
    const request = toLoginRequest({ params: { ...ctx.oidc.params }, reasons: [], interactionUid: '' }, client);
    return this.#deps.interaction.preview(ctx.req as Request, request, sso);
  }
}
