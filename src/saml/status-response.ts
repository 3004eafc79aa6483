import type { Response } from 'express';
import type { User } from '../core/types.ts';
import type { PendingSso } from './pending-sso.ts';
import { sendPostForm } from './post-form.ts';
import type { SamlStatus } from './response-xml.ts';
import type { SamlContext } from './saml-context.ts';
import type { ServiceProviderRecord } from './sp-types.ts';

/**
 * Why Stepgate answered without an assertion, as the audit log names it: the sign-in's own error
 * (`access_denied`, `cancelled` … as OIDC's `oidc.sign-in` failures), or what of the request or the
 * user could not be met. `user`: the signed-in user, once the sign-in got that far.
 */
export interface StatusResponseFacts {
  reason: string;
  user?: Pick<User, 'id' | 'username'>;
}

/** An error Response (signed, no assertion) to the registered ACS, e.g. NoPassive or InvalidNameIDPolicy. */
export async function sendStatusResponse(res: Response, ctx: SamlContext, sp: ServiceProviderRecord, pending: Pick<PendingSso, 'acsUrl' | 'requestId' | 'relayState'>, status: SamlStatus, facts: StatusResponseFacts): Promise<void> {
  const { req } = res;
  const samlResponse = await ctx.responses.status({ sp, acsUrl: pending.acsUrl, inResponseTo: pending.requestId }, status);
  // As a success is: the SP is told of a sign-in that ended without a user, so the audit log is too.
  await ctx.services.store.audit.record({
    type: 'saml.sso',
    outcome: 'failure',
    rp: sp.id,
    reason: facts.reason,
    status: status.top,
    ...(status.second ? { subStatus: status.second } : {}),
    ...(facts.user ? { userId: facts.user.id, username: facts.user.username } : {}),
    ip: req.clientIp,
    requestId: req.requestId,
    idpInitiated: !pending.requestId,
  });
  req.log.info({ event: 'saml.error-response-sent', sp: sp.id, status: status.top, subStatus: status.second, reason: facts.reason }, 'saml: error response sent');
  sendPostForm(res, { action: pending.acsUrl, fields: { SAMLResponse: samlResponse, RelayState: pending.relayState }, appName: sp.name });
}
