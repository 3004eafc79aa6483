import type { Request, Response } from 'express';
import { AppError } from '../core/errors.ts';
import { offerWayBack } from '../http/error-handler.ts';
import { isReleasableValue, samlAttributes, type ReleasedAttribute } from '../rp/claims.ts';
import { BINDING, NAMEID_FORMAT } from './constants.ts';
import { satisfiesRequestedContext } from './authn-context.ts';
import { isRequestedSubject, nameIdValue, persistentQualifiers } from './name-id.ts';
import { takePendingSso, type PendingSso } from './pending-sso.ts';
import type { FinishedSignIn } from '../login/interaction.ts';
import type { LoginResult } from '../core/types.ts';
import { sendStatusResponse } from './status-response.ts';
import { sendPostForm } from './post-form.ts';
import { NO_AUTHN_CONTEXT, NO_NAMEID_VALUE, OTHER_PRINCIPAL, statusForLoginError } from './status.ts';
import type { SamlContext } from './saml-context.ts';

/** The SAML finisher: the interaction's LoginResult becomes a SAMLResponse, auto-posted to the ACS. */
export async function finishSso(req: Request, res: Response, ctx: SamlContext, { request, result }: FinishedSignIn): Promise<void | 'not-signed-in'> {
  const { services } = ctx;
  const pending = await takePendingSso(services.store.kv, request.handoff.ref);
  if (!pending) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'pending-expired' } });
  const sp = await ctx.registry.get(pending.spId);
  if (!sp) {
    const removed = new AppError('RP_UNKNOWN', { detail: { protocol: 'saml', entityId: pending.spId, removedDuringSignIn: true } });
    return refuseWithoutResponse(res, ctx, { pending, result, reason: 'application-removed', error: removed });
  }
  // The SP's metadata may have been replaced since the sign-in opened (sp set --metadata, or sp remove
  // and sp add): an address it no longer lists may no longer be the SP's, so nothing is posted there.
  if (!sp.acs.some((endpoint) => endpoint.binding === BINDING.post && endpoint.location === pending.acsUrl)) {
    req.log.warn({ code: 'SAML_ACS_NO_LONGER_REGISTERED', sp: sp.id, acsUrl: pending.acsUrl.slice(0, 512) }, "saml: the SP's metadata no longer lists the ACS this sign-in was opened for; no Response");
    const unlisted = new AppError('ACS_NOT_REGISTERED', {
      userMessage: `The settings of ${sp.name} changed while you were signing in: the address your sign-in was to return to is no longer registered for it. Go back to ${sp.name} and sign in again.`,
      detail: { sp: sp.id, url: pending.acsUrl.slice(0, 512), reason: 'acs-removed-during-sign-in' },
    });
    return refuseWithoutResponse(res, ctx, { pending, result, reason: 'acs-no-longer-registered', error: unlisted });
  }

  if (!result.ok) return sendStatusResponse(res, ctx, sp, pending, statusForLoginError(result.error), { reason: result.error });
  if (pending.requestedAuthnContext && !satisfiesRequestedContext(pending.requestedAuthnContext, result.acr)) return inPlaceOfSignIn(sendStatusResponse(res, ctx, sp, pending, NO_AUTHN_CONTEXT, { reason: 'authn-context-not-met', user: result.user }));
  if (pending.subject && !isRequestedSubject(pending.subject, result.user, sp, services.box)) {
    req.log.warn({ code: 'SAML_SUBJECT_MISMATCH', sp: sp.id, userId: result.user.id, format: pending.subject.format }, 'saml: the AuthnRequest names another subject than the signed-in user; no assertion');
    return inPlaceOfSignIn(sendStatusResponse(res, ctx, sp, pending, OTHER_PRINCIPAL, { reason: 'subject-mismatch', user: result.user }));
  }
  const nameId = nameIdValue(pending.nameIdFormat, result.user, sp, services.box);
  if (!nameId) return inPlaceOfSignIn(sendStatusResponse(res, ctx, sp, pending, NO_NAMEID_VALUE, { reason: 'no-nameid-value', user: result.user }));
  if (!isReleasableValue(nameId)) {
    // Altered to fit (a control character dropped), it could be another user's NameID: the SP is told there is no usable value.
    req.log.warn({ code: 'SAML_NAMEID_UNREPRESENTABLE', sp: sp.id, userId: result.user.id, nameIdFormat: pending.nameIdFormat }, "saml: the user's NameID value has a character XML cannot carry; not issued");
    return inPlaceOfSignIn(sendStatusResponse(res, ctx, sp, pending, NO_NAMEID_VALUE, { reason: 'nameid-unrepresentable', user: result.user }));
  }
  const session = await services.sessions.byId(result.sessionId);
  if (!session) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'session-ended' } });

  // Opaque and per SP: the SP sees an index it can quote in a LogoutRequest, never the session id.
  const sessionIndex = services.box.mac('saml-session-index', `${session.id}\0${sp.id}`);
  const format = NAMEID_FORMAT[pending.nameIdFormat];
  // Recorded first: a session ended meanwhile (a logout in another tab) gets no assertion.
  await services.sessions.addParticipant(session, { protocol: 'saml', rpId: sp.id, at: services.clock.now(), nameId, nameIdFormat: format, sessionIndex });
  const samlResponse = await ctx.responses.success(
    { sp, acsUrl: pending.acsUrl, inResponseTo: pending.requestId },
    {
      nameId: { value: nameId, format, ...(pending.nameIdFormat === 'persistent' ? persistentQualifiers(ctx.endpoints.entityId, sp.id) : {}) },
      authnInstant: new Date(result.authTime),
      sessionIndex,
      sessionNotOnOrAfter: new Date(services.sessions.endsAt(session)),
      authnContextClassRef: result.acr,
      attributes: representableAttributes(req, sp.id, samlAttributes(result.user, sp.settings.attributes)),
    },
  );
  await services.store.audit.record({ type: 'saml.sso', outcome: 'success', rp: sp.id, userId: result.user.id, username: result.user.username, ip: req.clientIp, requestId: req.requestId, acr: result.acr, idpInitiated: !pending.requestId });
  req.log.info({ event: 'saml.response-sent', sp: sp.id, nameIdFormat: pending.nameIdFormat, acr: result.acr, encrypted: sp.settings.encryptAssertions }, 'saml: response sent');
  sendPostForm(res, { action: pending.acsUrl, fields: { SAMLResponse: samlResponse, RelayState: pending.relayState }, appName: sp.name });
}

/** A status Response sent in place of the user's sign-in: the finished sign-in's page must not call it complete (LoginInteraction.complete). */
async function inPlaceOfSignIn(sent: Promise<void>): Promise<'not-signed-in'> {
  await sent;
  return 'not-signed-in';
}

/**
 * Ends a sign-in with an error page and no Response to the SP, audited as a Response would be. The
 * page offers no "Back to <application>": that is a cancel of this sign-in, which is over.
 */
async function refuseWithoutResponse(res: Response, ctx: SamlContext, refusal: { pending: PendingSso; result: LoginResult; reason: string; error: AppError }): Promise<never> {
  const { req } = res;
  const { pending, result } = refusal;
  offerWayBack(res, undefined);
  await ctx.services.store.audit.record({
    type: 'saml.sso',
    outcome: 'failure',
    rp: pending.spId,
    reason: refusal.reason,
    ...(result.ok ? { userId: result.user.id, username: result.user.username } : {}),
    ip: req.clientIp,
    requestId: req.requestId,
    idpInitiated: !pending.requestId,
  });
  throw refusal.error;
}

/**
 * Leaves out attribute values no relying party is given (rp/claims.ts isReleasableValue: control
 * characters, which XML 1.0 mostly cannot carry, and U+2028, which xmldom-based SPs mangle). Left
 * out rather than altered: an altered value could equal another user's (a mail an SP matches
 * accounts by); and rather than refusing the sign-in, which would lock the user out of the SP over
 * one value it may not even use. An attribute left with no value is not sent.
 */
function representableAttributes(req: Request, spId: string, attributes: ReleasedAttribute[]): ReleasedAttribute[] {
  const kept = attributes.map((attribute) => ({ ...attribute, values: attribute.values.filter(isReleasableValue) }));
  const dropped = kept.filter((attribute, index) => attribute.values.length < attributes[index]!.values.length).map((attribute) => attribute.friendlyName ?? attribute.name);
  if (dropped.length) req.log.warn({ code: 'SAML_ATTRIBUTE_VALUE_UNREPRESENTABLE', sp: spId, attributes: dropped }, 'saml: attribute values with a character XML cannot carry left out');
  return kept.filter((attribute) => attribute.values.length > 0);
}
