import type { Request, Response } from 'express';
import { AppError } from '../core/errors.ts';
import { MAX_RELAY_STATE_BYTES, NAMEID_FORMAT, type BindingName } from './constants.ts';
import { resolveAcs } from './acs.ts';
import { readAuthnRequest, type RequestedSubject } from './authn-request.ts';
import { isSatisfiable } from './authn-context.ts';
import { rawQuery, readInboundRequest } from './inbound.ts';
import { chooseNameIdFormat } from './name-id.ts';
import { SAML_FINISHER, savePendingSso, takePendingSso, type PendingSso } from './pending-sso.ts';
import { rememberRequestId } from './replay.ts';
import { sendStatusResponse } from './status-response.ts';
import { INVALID_NAMEID_POLICY, NO_AUTHN_CONTEXT } from './status.ts';
import type { SamlContext } from './saml-context.ts';
import type { ServiceProviderRecord } from './sp-types.ts';
import type { RelyingPartySettings } from '../core/types.ts';

/** GET/POST /saml/sso: a verified AuthnRequest becomes a LoginRequest for the interaction. */
export async function startSso(req: Request, res: Response, binding: BindingName, ctx: SamlContext): Promise<void> {
  const request = await readInboundRequest(req, 'AuthnRequest', binding, ctx.inbound);
  const authn = readAuthnRequest(request);
  const nameIdFormat = chooseNameIdFormat(authn.nameIdPolicy, request.sp);
  await rememberRequestId(ctx.services.store.kv, request, ctx.services.config.saml);

  const base = { spId: request.sp.id, requestId: request.id, acsUrl: authn.acs.location, relayState: request.relayState };
  if (!nameIdFormat) {
    req.log.warn({ sp: request.sp.id, requested: authn.nameIdPolicy }, 'saml: NameIDPolicy cannot be honoured');
    return sendStatusResponse(res, ctx, request.sp, base, INVALID_NAMEID_POLICY);
  }
  if (authn.requestsDeclRef || (authn.requestedAuthnContext && !isSatisfiable(authn.requestedAuthnContext))) {
    req.log.warn({ sp: request.sp.id, requested: authn.requestedAuthnContext }, 'saml: requested authentication context cannot be satisfied');
    return sendStatusResponse(res, ctx, request.sp, base, NO_AUTHN_CONTEXT);
  }
  const subject = authn.subject ? { subject: authn.subject } : {};
  await beginLogin(req, res, ctx, request.sp, { ...base, nameIdFormat, requestedAuthnContext: authn.requestedAuthnContext, ...subject }, { forceAuthn: authn.forceAuthn, passive: authn.passive });
}

/** GET /saml/idp-init?sp=<entityID>&RelayState=...: an unsolicited response to the SP's default ACS. */
export async function startIdpInitiated(req: Request, res: Response, ctx: SamlContext): Promise<void> {
  const query = new URLSearchParams(rawQuery(req));
  const spId = query.get('sp') ?? '';
  const relayState = query.get('RelayState') ?? undefined;
  const sp = spId ? await ctx.registry.get(spId) : undefined;
  if (!sp) throw new AppError('RP_UNKNOWN', { detail: { protocol: 'saml', entityId: spId.slice(0, 256), idpInitiated: true } });
  if (relayState !== undefined && Buffer.byteLength(relayState) > MAX_RELAY_STATE_BYTES) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'relay-state-too-long' } });
  const pending: PendingSso = { spId: sp.id, acsUrl: resolveAcs(sp).location, relayState, nameIdFormat: sp.settings.nameIdFormat };
  await beginLogin(req, res, ctx, sp, pending, { forceAuthn: false, passive: false });
}

/** What the sign-in needs to know of an SP's settings. */
export function spLoginSettings(sp: ServiceProviderRecord): RelyingPartySettings {
  return { allowPasswordChange: sp.settings.allowPasswordChange, ...(sp.settings.policy ? { policy: sp.settings.policy } : {}) };
}

async function beginLogin(req: Request, res: Response, ctx: SamlContext, sp: ServiceProviderRecord, pending: PendingSso, flags: { forceAuthn: boolean; passive: boolean }): Promise<void> {
  const pendingId = await savePendingSso(ctx.services.store.kv, pending);
  await startOrForget(ctx, pendingId, () => ctx.services.interaction.start(req, res, {
    protocol: 'saml',
    rpId: sp.id,
    rpName: sp.name,
    rp: spLoginSettings(sp),
    handoff: { finisher: SAML_FINISHER, ref: pendingId },
    forceAuthn: flags.forceAuthn,
    passive: flags.passive,
    ...(pending.requestedAuthnContext ? { requestedAuthnContext: pending.requestedAuthnContext } : {}),
    ...(loginHintOf(pending.subject) ? { loginHint: loginHintOf(pending.subject) } : {}),
  }));
}

/** A start refused by the start limiter keeps nothing: otherwise refused starts would still fill memory for 15 minutes. */
async function startOrForget(ctx: SamlContext, pendingId: string, start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (error) {
    if (error instanceof AppError && error.code === 'RATE_LIMITED') await takePendingSso(ctx.services.store.kv, pendingId);
    throw error;
  }
}

/** A subject named by email or username pre-fills the sign-in form; an opaque one (persistent, transient) cannot. */
function loginHintOf(subject: RequestedSubject | undefined): string | undefined {
  const format = subject?.format ?? NAMEID_FORMAT.unspecified;
  return subject?.nameId && (format === NAMEID_FORMAT.email || format === NAMEID_FORMAT.unspecified) ? subject.nameId : undefined;
}
