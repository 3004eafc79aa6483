import type { Response } from 'express';
import type { PendingSso } from './pending-sso.ts';
import { sendPostForm } from './post-form.ts';
import type { SamlStatus } from './response-xml.ts';
import type { SamlContext } from './saml-context.ts';
import type { ServiceProviderRecord } from './sp-types.ts';

/** An error Response (signed, no assertion) to the registered ACS, e.g. NoPassive or InvalidNameIDPolicy. */
export async function sendStatusResponse(res: Response, ctx: SamlContext, sp: ServiceProviderRecord, pending: Pick<PendingSso, 'acsUrl' | 'requestId' | 'relayState'>, status: SamlStatus): Promise<void> {
  const samlResponse = await ctx.responses.status({ sp, acsUrl: pending.acsUrl, inResponseTo: pending.requestId }, status);
  res.req.log.info({ sp: sp.id, status: status.top, subStatus: status.second }, 'saml: error response sent');
  sendPostForm(res, { action: pending.acsUrl, fields: { SAMLResponse: samlResponse, RelayState: pending.relayState }, appName: sp.name });
}
