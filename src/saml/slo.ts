import type { Request, Response } from 'express';
import { AppError } from '../core/errors.ts';
import { randomId } from '../core/ids.ts';
import { sendPage } from '../http/render.ts';
import { messagePage } from '../../views/message.ts';
import { STATUS } from './constants.ts';
import { activeSigner } from './idp-identity.ts';
import { rawQuery, readInboundRequest } from './inbound.ts';
import { readLogoutRequest, type LogoutInfo } from './logout-request.ts';
import { sendPostForm } from './post-form.ts';
import { signedRedirectUrl } from './redirect-binding.ts';
import { rememberRequestId } from './replay.ts';
import { newMessageId } from './response-builder.ts';
import { logoutResponseXml, type SamlStatus } from './response-xml.ts';
import { signCanonical } from './canonical-signature.ts';
import type { SamlContext } from './saml-context.ts';
import type { ServiceProviderRecord, SloEndpoint } from './sp-types.ts';

const STASH = 'saml-slo';

/** GET /saml/slo: a LogoutRequest over HTTP-Redirect. The session cookie (SameSite=Lax) comes with a top-level GET. */
export async function sloRedirect(req: Request, res: Response, ctx: SamlContext): Promise<void> {
  if (new URLSearchParams(rawQuery(req)).has('SAMLResponse')) {
    // Stepgate never sends LogoutRequests (no propagation), so no LogoutResponse is ever expected.
    throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'unexpected-logout-response' } });
  }
  await completeLogout(req, res, ctx, await verifiedLogout(req, ctx, 'redirect'));
}

/**
 * POST /saml/slo: a cross-site POST carries no SameSite=Lax cookie, so the browser's session is
 * invisible here. The verified request is parked and the browser sent on with a 303 to a same-site
 * GET, where the cookie is back.
 */
export async function sloPost(req: Request, res: Response, ctx: SamlContext): Promise<void> {
  const logout = await verifiedLogout(req, ctx, 'post');
  const id = randomId(18);
  await ctx.services.store.kv.set(STASH, id, logout, { ttlSeconds: 120, durable: false });
  res.redirect(303, `/saml/slo/continue?id=${encodeURIComponent(id)}`);
}

export async function sloContinue(req: Request, res: Response, ctx: SamlContext): Promise<void> {
  const logout = await ctx.services.store.kv.consume<LogoutInfo>(STASH, new URLSearchParams(rawQuery(req)).get('id') ?? '');
  if (!logout) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'logout-expired' } });
  await completeLogout(req, res, ctx, logout);
}

async function verifiedLogout(req: Request, ctx: SamlContext, binding: 'redirect' | 'post'): Promise<LogoutInfo> {
  const request = await readInboundRequest(req, 'LogoutRequest', binding, ctx.inbound);
  const logout = readLogoutRequest(request, ctx.services.clock.now(), ctx.services.config.saml.clockSkewSeconds);
  await rememberRequestId(ctx.services.store.kv, request, ctx.services.config.saml);
  return logout;
}

/**
 * Ends this browser's session when it is the one the SP names (its NameID, and SessionIndex when
 * given); otherwise nothing of that principal's session is left here, which is also Success. Other
 * participants are not told (no propagation): when there are any, the status says PartialLogout.
 */
async function completeLogout(req: Request, res: Response, ctx: SamlContext, logout: LogoutInfo): Promise<void> {
  const { services } = ctx;
  const sp = await ctx.registry.get(logout.spId);
  if (!sp) throw new AppError('RP_UNKNOWN', { detail: { protocol: 'saml', entityId: logout.spId } });
  const session = await services.sessions.current(req);
  const participant = session?.participants.find((p) => p.protocol === 'saml' && p.rpId === sp.id);
  const status: SamlStatus = { top: STATUS.success };
  let ended = false;
  if (session && participant && participant.nameId === logout.nameId && (logout.sessionIndexes.length === 0 || logout.sessionIndexes.includes(participant.sessionIndex ?? ''))) {
    await services.sessions.end(req, res);
    await services.store.audit.record({ type: 'logout', outcome: 'success', rp: sp.id, userId: session.user.id, username: session.user.username, ip: req.clientIp, requestId: req.requestId, via: 'saml-slo' });
    if (session.participants.some((p) => p !== participant)) status.second = STATUS.partialLogout;
    ended = true;
  }
  req.log.info({ sp: sp.id, sessionEnded: ended, hadSession: !!session, status: status.second ?? status.top }, 'saml: logout request handled');
  const endpoint = sp.slo.find((candidate) => candidate.binding === logout.binding) ?? sp.slo[0];
  if (!endpoint) {
    // An SP without an SLO endpoint cannot be answered; tell the person instead.
    const message = ended ? 'You are signed out. You can close this window.' : 'There was no sign-in here to end. You can close this window.';
    sendPage(res, messagePage({ title: 'Signed out', message }));
    return;
  }
  await sendLogoutResponse(res, ctx, sp, endpoint, logout, status);
}

async function sendLogoutResponse(res: Response, ctx: SamlContext, sp: ServiceProviderRecord, endpoint: SloEndpoint, logout: LogoutInfo, status: SamlStatus): Promise<void> {
  const destination = endpointUrl(endpoint);
  const signer = await activeSigner(ctx.services.keys);
  const header = { id: newMessageId(), issueInstant: new Date(ctx.services.clock.now()), issuer: ctx.endpoints.entityId, destination, inResponseTo: logout.requestId };
  const xml = logoutResponseXml(header, status);
  if (endpoint.binding === 'redirect') {
    res.redirect(303, signedRedirectUrl(destination, 'SAMLResponse', xml, logout.relayState, signer.privateKey));
    return;
  }
  const samlResponse = Buffer.from(await signCanonical(xml, 'LogoutResponse', signer), 'utf8').toString('base64');
  sendPostForm(res, { action: destination, fields: { SAMLResponse: samlResponse, RelayState: logout.relayState }, appName: sp.name });
}

function endpointUrl(endpoint: SloEndpoint): string {
  return endpoint.responseLocation ?? endpoint.location;
}
