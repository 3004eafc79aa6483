import { Router, type Request } from 'express';
import { errors, type default as Provider } from 'oidc-provider';
import type { Services } from '../services.ts';
import type { LoginRequest, LoginResult } from '../core/types.ts';
import { AppError } from '../core/errors.ts';
import type { ClientRegistry } from './client-registry.ts';
import type { SessionSync } from './session-sync.ts';
import { INTERACTION_PATH } from './provider.ts';
import { resumePathFor, toInteractionResult, toLoginRequest } from './binding.ts';
import type { UserLookup } from './account.ts';

export interface InteractionRouteDeps {
  provider: Provider;
  services: Services;
  clients: ClientRegistry;
  users: UserLookup;
  sync: SessionSync;
}

/**
 * Where oidc-provider sends the browser when a sign-in is needed, and where Stepgate's sign-in sends
 * it back. Both only translate: the pages and decisions in between belong to login/.
 */
export function interactionRoutes(deps: InteractionRouteDeps): Router {
  const { provider, services, clients, sync } = deps;
  const router = Router();

  router.get(`${INTERACTION_PATH}/:uid`, async (req, res) => {
    const details = await providerCall(() => provider.interactionDetails(req, res));
    if (details.uid !== req.params.uid) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'interaction-cookie-mismatch' } });
    const client = await clients.get(String(details.params.client_id));
    if (!client) throw new AppError('RP_UNKNOWN', { detail: { clientId: details.params.client_id } });
    const request = toLoginRequest({ params: details.params, reasons: details.prompt.reasons, resumePath: resumePathFor(details.uid) }, client);
    await services.interaction.start(req, res, request);
  });

  router.get(`${INTERACTION_PATH}/:uid/finish`, async (req, res) => {
    const uid = String(req.params.uid);
    const { request, result } = await services.interaction.takeResult(req, String(req.query.tx ?? ''), 'oidc');
    // A result belongs to the interaction that asked for it, not to whichever one this browser finishes.
    if (request.resumePath !== resumePathFor(uid)) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'other-interaction' } });
    const outcome = await usableResult(deps.users, result);
    const answer = toInteractionResult(request, outcome);
    if (answer.login && outcome.ok) await sync.prepareResume(uid, outcome);
    await audit(req, services, request, outcome, typeof answer.error === 'string' ? answer.error : undefined);
    await providerCall(() => provider.interactionFinished(req, res, answer, { mergeWithLastSubmission: false }));
  });

  return router;
}

/**
 * The token subject must resolve through findAccount later; a user removed from the directory since
 * the SSO session began is refused here rather than half-way through oidc-provider's response.
 */
async function usableResult(users: UserLookup, result: LoginResult): Promise<LoginResult> {
  if (!result.ok || (await users(result.user.id))) return result;
  return { ok: false, error: 'access_denied', message: 'This account cannot be used to sign in.' };
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

/** oidc-provider's "interaction not found / expired" errors become Stepgate's expired sign-in page. */
async function providerCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof errors.OIDCProviderError) {
      throw new AppError('TRANSACTION_UNKNOWN', { cause: error, detail: { error: error.error, description: error.error_description } });
    }
    throw error;
  }
}
