import type { Request, Response } from 'express';
import type { default as Provider } from 'oidc-provider';
import type { Services } from '../services.ts';
import type { LoginRequest, LoginResult } from '../core/types.ts';
import type { FinishedSignIn } from '../login/interaction.ts';
import { AppError } from '../core/errors.ts';
import type { ClientRegistry } from './client-registry.ts';
import type { SessionSync } from './session-sync.ts';
import { toInteractionResult, toLoginRequest } from './binding.ts';

export interface OidcInteractions {
  start(req: Request, res: Response, uid: string): Promise<void>;
  /** The login interaction's finisher for OIDC_FINISHER (registered once by mount.ts). */
  finish(req: Request, res: Response, finished: FinishedSignIn): Promise<void>;
}

export interface OidcInteractionDeps {
  provider: Provider;
  services: Services;
  clients: ClientRegistry;
  sync: SessionSync;
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
      await services.interaction.start(req, res, request);
    },
  };
}

/**
 * Stores the result on oidc-provider's interaction and resumes the authorization request in this
 * response, so the browser goes straight back to the client. The sign-in transaction, bound to this
 * browser, names the interaction: the binding oidc-provider's resume cookie would otherwise prove.
 */
async function finishInteraction(deps: OidcInteractionDeps, req: Request, res: Response, { request, result }: FinishedSignIn): Promise<void> {
  const { provider, services, sync } = deps;
  const interaction = await provider.Interaction.find(request.handoff.ref);
  if (!interaction) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'interaction-expired' } });
  const answer = toInteractionResult(request, result);
  if (answer.login && result.ok) await sync.prepareResume(interaction, result);
  // As oidc-provider's own interactionResult: the provider session the request began under (now
  // mirroring the session of this login) must still be there.
  if (interaction.session?.uid) {
    const session = await provider.Session.findByUid(interaction.session.uid);
    if (!session || session.accountId !== interaction.session.accountId) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'provider-session-ended' } });
  }
  await audit(req, services, request, result, typeof answer.error === 'string' ? answer.error : undefined);
  interaction.result = answer;
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  await deps.resume(req, res, interaction.uid);
}

async function audit(req: Request, services: Services, request: LoginRequest, result: LoginResult, error: string | undefined): Promise<void> {
  await services.store.audit.record({
    type: 'oidc.sign-in',
    outcome: error ? 'failure' : 'success',
    rp: request.rpId,
    userId: result.ok ? result.user.id : undefined,
    username: result.ok ? result.user.username : undefined,
    reason: error,
    ip: req.clientIp,
    requestId: req.requestId,
  });
}
