import type { Request, Response } from 'express';
import type { default as Provider, Interaction, InteractionResults, KoaContextWithOIDC } from 'oidc-provider';
import type { Services } from '../services.ts';
import type { LoginRequest, LoginResult } from '../core/types.ts';
import type { FinishedSignIn } from '../login/interaction.ts';
import { AppError, type ErrorCode } from '../core/errors.ts';
import { offerWayBack } from '../http/error-handler.ts';
import type { ClientRegistry } from './client-registry.ts';
import type { SessionSync } from './session-sync.ts';
import type { SsoState } from './sso-state.ts';
import { toInteractionResult, toLoginRequest } from './binding.ts';
import { redirectUriRegistered } from './redirect-uri.ts';
import { hintedSubject } from './id-token-hint.ts';

export interface OidcInteractions {
  start(req: Request, res: Response, uid: string): Promise<void>;
  /** The login interaction's finisher for OIDC_FINISHER (registered once by mount.ts). */
  finish(req: Request, res: Response, finished: FinishedSignIn): Promise<void | 'not-signed-in'>;
  /**
   * Koa middleware around oidc-provider's routes: an `oidc.sign-in` success is audited when
   * oidc-provider answers the client with its result, not when Stepgate hands a login over (it may
   * refuse it). Also when an existing session answers without a page (SSO reuse, prompt=none), as
   * every SAML assertion is audited.
   */
  auditIssued(): (ctx: KoaContextWithOIDC, next: () => Promise<unknown>) => Promise<void>;
}

/** The key of the interaction result that carries what the success audit event needs and oidc-provider does not keep. */
const AUDIT_RESULT_KEY = 'stepgateAudit';

/** Why LoginInteraction.admitStart refuses a start. */
const REFUSED_STARTS = new Set<ErrorCode>(['RATE_LIMITED', 'SIGN_IN_BUSY']);

/** Login prompt reasons that are about the acr (oidc-provider's essential_acr and essential_acrs checks). */
const ACR_REASONS = new Set(['essential_acr', 'essential_acrs']);

export interface OidcInteractionDeps {
  provider: Provider;
  services: Services;
  clients: ClientRegistry;
  sync: SessionSync;
  sso: SsoState;
  /** Continues the authorization request in this response (koa-bridge.ts). */
  resume: (req: Request, res: Response, uid: string) => Promise<void>;
}

/**
 * The two ends of an OIDC sign-in: the start, in the response to the authorization request whose
 * interaction oidc-provider just created (inline-interaction.ts), and the finisher that hands
 * Stepgate's result back to it. Both only translate: the pages and decisions in between belong to login/.
 */
export function oidcInteractions(deps: OidcInteractionDeps): OidcInteractions {
  const { provider, services, clients } = deps;
  return {
    finish: (req, res, finished) => finishInteraction(deps, req, res, finished),
    start: async (req, res, uid) => {
      const details = await provider.Interaction.find(uid);
      if (!details) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'interaction-not-saved' } });
      const client = await clients.get(String(details.params.client_id));
      if (!client) throw new AppError('RP_UNKNOWN', { detail: { clientId: details.params.client_id } });
      const request = toLoginRequest({ params: details.params, reasons: details.prompt.reasons, interactionUid: details.uid }, client);
      try {
        await services.interaction.start(req, res, request);
      } catch (error) {
        // oidc-provider saved its interaction before the start could be refused (one IP's start limit,
        // or too many sign-ins open); kept for its 15 minutes, refused starts would still fill the
        // memory those limits protect.
        if (error instanceof AppError && REFUSED_STARTS.has(error.code)) await details.destroy();
        throw error;
      }
    },
    auditIssued: () => {
      const issued = new WeakSet<object>();
      provider.on('authorization.success', (ctx: KoaContextWithOIDC) => issued.add(ctx));
      return async (ctx, next) => {
        await next();
        if (!issued.has(ctx)) return;
        const req = ctx.req as Request;
        const result = ctx.oidc.route === 'resume' ? ctx.oidc.result : undefined;
        const facts = result?.[AUDIT_RESULT_KEY] as { rp: string; username: string } | undefined;
        // No resume: this browser's session answered by itself; the SSO session names its user.
        const reuse = facts ? undefined : (await deps.sso.current(ctx))?.user;
        await services.store.audit.record({
          type: 'oidc.sign-in',
          outcome: 'success',
          reason: facts ? undefined : 'sso-reuse',
          rp: facts?.rp ?? ctx.oidc.client?.clientId,
          userId: ctx.oidc.session?.accountId,
          username: facts?.username ?? reuse?.username,
          ip: req.clientIp,
          requestId: req.requestId,
        });
      };
    },
  };
}

/**
 * Stores the result on oidc-provider's interaction and resumes the authorization request in this
 * response, so the browser goes straight back to the client. The sign-in transaction, bound to this
 * browser, names the interaction: the binding oidc-provider's resume cookie would otherwise prove.
 */
async function finishInteraction(deps: OidcInteractionDeps, req: Request, res: Response, { request, result }: FinishedSignIn): Promise<void | 'not-signed-in'> {
  const { provider, services, sync } = deps;
  const interaction = await provider.Interaction.find(request.handoff.ref);
  if (!interaction) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'interaction-expired' } });
  await assertStillReturnable(deps, req, res, interaction, { request, result });
  let answer = toInteractionResult(request, result);
  if (answer.login && sameAsRefused(interaction.lastSubmission, answer)) {
    const reasons = interaction.prompt.reasons;
    req.log.warn({ code: 'OIDC_LOGIN_REFUSED_AGAIN', rp: request.rpId, reasons }, 'oidc: the provider refused this login once already; the request ends with an error');
    answer = reasons.some((reason) => ACR_REASONS.has(reason))
      ? { error: 'unmet_authentication_requirements', error_description: 'The requested authentication context could not be obtained.' }
      : { error: 'login_required', error_description: `The sign-in does not satisfy the request (${reasons.join(', ')}).` };
  }
  const hinted = hintedSubject(interaction.params);
  if (answer.login && hinted !== undefined && hinted !== answer.login.accountId) {
    req.log.warn({ code: 'OIDC_LOGIN_NOT_HINTED_ACCOUNT', rp: request.rpId }, 'oidc: the account signed in is not the one the id_token_hint names; the request ends with an error');
    answer = { error: 'login_required', error_description: 'The sign-in does not satisfy the request (id_token_hint).' };
  }
  if (answer.login && result.ok) await sync.prepareResume(interaction, result);
  // As oidc-provider's own interactionResult: the provider session the request began under (now
  // mirroring the session of this login) must still be there.
  if (interaction.session?.uid) {
    const session = await provider.Session.findByUid(interaction.session.uid);
    if (!session || session.accountId !== interaction.session.accountId) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'provider-session-ended' } });
  }
  if (answer.login && result.ok) answer[AUDIT_RESULT_KEY] = { rp: request.rpId, username: result.user.username };
  else await auditFailure(req, services, request, result, typeof answer.error === 'string' ? answer.error : undefined);
  interaction.result = answer;
  await interaction.save(interaction.remainingTTL);
  await deps.resume(req, res, interaction.uid);
  if (!answer.login) return 'not-signed-in';
}

/**
 * The answer, a success or an error, goes to the request's redirect URI, which oidc-provider does
 * not check again when it resumes: it must be registered for the client now. A client removed, or a
 * redirect URI taken from it (a lost domain, a retired app), while the user was signing in ends the
 * sign-in here with an error page, never with a redirect there.
 */
async function assertStillReturnable(deps: OidcInteractionDeps, req: Request, res: Response, interaction: Interaction, { request, result }: Pick<FinishedSignIn, 'request' | 'result'>): Promise<void> {
  const client = await deps.clients.get(request.rpId);
  const redirectUri = interaction.params.redirect_uri;
  if (client && typeof redirectUri === 'string' && redirectUriRegistered(client.redirectUris, redirectUri, client.tokenEndpointAuthMethod === 'none')) return;
  const reason = client ? 'redirect-uri-removed' : 'rp-removed';
  req.log.warn({ code: 'OIDC_SIGN_IN_NOT_RETURNABLE', rp: request.rpId, reason }, 'oidc: the sign-in ends with an error page: its client, or the redirect URI it asked for, is no longer registered');
  await auditFailure(req, deps.services, request, result, reason);
  await interaction.destroy();
  // The sign-in has nowhere to go back to: its "Back to <application>" would lead to the same place.
  offerWayBack(res, undefined);
  throw client ? new AppError('ACS_NOT_REGISTERED', { detail: { protocol: 'oidc', rp: request.rpId, reason } }) : new AppError('RP_UNKNOWN', { detail: { rp: request.rpId, reason: 'removed-during-sign-in' } });
}

/**
 * oidc-provider starts an interaction on a resume only when it refused the login the resume handed
 * it (kept as lastSubmission). Its checks of a resumed login look at the account and the acr only
 * (max_age is met by any fresh login), so a login with the same two would be refused again, round
 * after round; another user signing in is a different answer and goes on.
 */
function sameAsRefused(lastSubmission: InteractionResults | undefined, answer: InteractionResults): boolean {
  const refused = lastSubmission?.login;
  const login = answer.login!;
  return !!refused && refused.accountId === login.accountId && refused.acr === login.acr;
}

/** A refusal is Stepgate's own decision, audited as it is handed over; a success waits for oidc-provider (auditAccepted). */
async function auditFailure(req: Request, services: Services, request: LoginRequest, result: LoginResult, error: string | undefined): Promise<void> {
  await services.store.audit.record({
    type: 'oidc.sign-in',
    outcome: 'failure',
    rp: request.rpId,
    userId: result.ok ? result.user.id : undefined,
    username: result.ok ? result.user.username : undefined,
    reason: error,
    ip: req.clientIp,
    requestId: req.requestId,
  });
}
