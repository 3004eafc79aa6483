import type { Request, Response } from 'express';
import { AppError } from '../core/errors.ts';
import { MAX_IDP_INITIATED_RELAY_STATE_BYTES, NAMEID_FORMAT, type BindingName } from './constants.ts';
import { resolveAcs } from './acs.ts';
import { readAuthnRequest, type RequestedSubject } from './authn-request.ts';
import { rawQuery, readInboundRequest, type InboundRequest } from './inbound.ts';
import { chooseNameIdFormat } from './name-id.ts';
import { SAML_FINISHER, savePendingSso, type PendingSso } from './pending-sso.ts';
import { isFirstSight, rememberSignIn, replayedRequest, requestKey, signInOpenedBy, signInOpenedByKey } from './replay.ts';
import { sendStatusResponse } from './status-response.ts';
import { noteClaimedIssuer, noteMessageKind, noteRegisteredIssuer, noteSignatureVerified } from './refusal-audit.ts';
import { INVALID_NAMEID_POLICY, NO_AUTHN_CONTEXT, UNSUPPORTED_BINDING } from './status.ts';
import type { SamlContext } from './saml-context.ts';
import type { ServiceProviderRecord } from './sp-types.ts';
import type { RelyingPartySettings, RequestedAuthnContext } from '../core/types.ts';
import { clipCallerText } from '../core/caller-text.ts';
import { isSatisfiable } from '../policy/requested-context.ts';
import { stepUrl } from '../login/step-url.ts';
import type { LoginTransaction } from '../login/transaction.ts';

/** Where a resent POST-binding AuthnRequest is sent on to, to be judged with this site's cookies. */
export const SSO_RESUME_PATH = '/saml/sso/resume';

/**
 * GET/POST /saml/sso: a verified AuthnRequest becomes a LoginRequest for the interaction. Answered with
 * a redirect to the sign-in's page for both bindings, so the browser's history holds that page and
 * not the request, which Reload or Back would send again.
 */
export async function startSso(req: Request, res: Response, binding: BindingName, ctx: SamlContext): Promise<void> {
  const request = await readInboundRequest(req, 'AuthnRequest', binding, ctx.inbound);
  const authn = readAuthnRequest(request);
  const nameIdFormat = chooseNameIdFormat(authn.nameIdPolicy, request.sp);
  // The request of a sign-in still open, sent again (Back to the application's page), opens nothing:
  // not a start, so never refused as one.
  if (await signInOpenedBy(ctx.services.store.kv, request)) return resumeOwnSignIn(req, res, ctx, request);
  // Before anything is written or signed for it: a refused start leaves no durable replay marker
  // behind, and its error Response (an RSA signature) costs nothing. Its ID may then come again,
  // as any request's may until it is accepted once.
  ctx.services.interaction.admitStart(req);
  if (!(await isFirstSight(ctx.services.store.kv, request, ctx.services.config.saml))) return resumeOwnSignIn(req, res, ctx, request);

  const base = { spId: request.sp.id, requestId: request.id, acsUrl: authn.acs.location, relayState: request.relayState };
  // The values an AuthnRequest asks for are the caller's text (an unsigned request inflates to
  // saml.maxInflatedBytes): cut, and thinned with the server's other warnings of their code.
  if (authn.unsupportedBinding) {
    if (req.warnings.admit('SAML_UNSUPPORTED_BINDING', req.log)) req.log.warn({ code: 'SAML_UNSUPPORTED_BINDING', sp: request.sp.id, protocolBinding: clipCallerText(authn.unsupportedBinding) }, 'saml: the AuthnRequest asks for a response binding other than HTTP-POST');
    return sendStatusResponse(res, ctx, request.sp, base, UNSUPPORTED_BINDING, { reason: 'unsupported-binding' });
  }
  if (!nameIdFormat) {
    if (req.warnings.admit('SAML_NAMEID_POLICY_UNSUPPORTED', req.log)) req.log.warn({ code: 'SAML_NAMEID_POLICY_UNSUPPORTED', sp: request.sp.id, requested: { format: clipCallerText(authn.nameIdPolicy.format), spNameQualifier: clipCallerText(authn.nameIdPolicy.spNameQualifier) } }, 'saml: NameIDPolicy cannot be honoured');
    return sendStatusResponse(res, ctx, request.sp, base, INVALID_NAMEID_POLICY, { reason: 'nameid-policy' });
  }
  if (authn.requestsDeclRef || (authn.requestedAuthnContext && !isSatisfiable(authn.requestedAuthnContext))) {
    if (req.warnings.admit('SAML_AUTHN_CONTEXT_UNSUPPORTED', req.log)) req.log.warn({ code: 'SAML_AUTHN_CONTEXT_UNSUPPORTED', sp: request.sp.id, requested: requestedContextFacts(authn.requestedAuthnContext) }, 'saml: requested authentication context cannot be satisfied');
    return sendStatusResponse(res, ctx, request.sp, base, NO_AUTHN_CONTEXT, { reason: 'authn-context-unsupported' });
  }
  const subject = authn.subject ? { subject: authn.subject } : {};
  const tx = await beginLogin(req, res, ctx, request.sp, { ...base, nameIdFormat, requestedAuthnContext: authn.requestedAuthnContext, ...subject }, { forceAuthn: authn.forceAuthn, passive: authn.passive });
  await rememberSignIn(ctx.services.store.kv, request, tx.id);
  res.redirect(303, stepUrl(tx));
}

/**
 * An AuthnRequest seen before is a replay, refused, except from the browser whose sign-in it opened
 * while that sign-in is still open (Back to the application's page that sent it): that browser goes
 * back to its sign-in, which answers the same request. Another browser, or a finished sign-in, is refused.
 */
async function resumeOwnSignIn(req: Request, res: Response, ctx: SamlContext, request: InboundRequest): Promise<void> {
  const opened = await signInOpenedBy(ctx.services.store.kv, request);
  if (!opened) throw replayedRequest(request);
  // A cross-site POST (the POST binding) carries none of this site's SameSite=Lax cookies, so which
  // browser sent it shows only on a same-site GET: the browser is sent on to one, and judged there.
  if (!ctx.services.browserBinding.existing(req)) return res.redirect(303, `${SSO_RESUME_PATH}?r=${requestKey(request)}`);
  await resumeInThisBrowser(req, res, ctx, opened.txId, { kind: request.kind, sp: request.sp.id });
}

/** GET /saml/sso/resume?r=<request key>: the same-site step of resumeOwnSignIn, for a request that came without this site's cookies (a cross-site POST, or a client without cookies). */
export async function resumeSso(req: Request, res: Response, ctx: SamlContext): Promise<void> {
  const key = new URLSearchParams(rawQuery(req)).get('r') ?? '';
  const opened = /^[A-Za-z0-9_-]{43}$/.test(key) ? await signInOpenedByKey(ctx.services.store.kv, key) : undefined;
  if (!opened) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'replayed', resume: 'unknown-request' } });
  // The key names a request this IdP accepted (its signature, if any, verified then): that is what a refusal here is audited as.
  noteMessageKind(req, 'AuthnRequest');
  noteClaimedIssuer(req, opened.sp);
  noteRegisteredIssuer(req);
  if (opened.signed) noteSignatureVerified(req);
  await resumeInThisBrowser(req, res, ctx, opened.txId, { resume: 'same-site-step', sp: opened.sp });
}

async function resumeInThisBrowser(req: Request, res: Response, ctx: SamlContext, txId: string, detail: Record<string, string>): Promise<void> {
  const tx = await ctx.services.interaction.binding.openInThisBrowser(req, txId);
  if (!tx) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'replayed', ...detail } });
  req.log.info({ event: 'saml.request-resumed', ...detail }, 'saml: an AuthnRequest sent again by the browser of its open sign-in; resumed');
  res.redirect(303, stepUrl(tx));
}

/** GET /saml/idp-init?sp=<entityID>&RelayState=...: an unsolicited response to the SP's default ACS. */
export async function startIdpInitiated(req: Request, res: Response, ctx: SamlContext): Promise<void> {
  const query = new URLSearchParams(rawQuery(req));
  // Which copy of a repeated parameter was meant is ambiguous, so neither is used (as for SP messages).
  for (const name of ['sp', 'RelayState']) {
    if (query.getAll(name).length > 1) throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'duplicate-parameter', name, idpInitiated: true } });
  }
  const spId = query.get('sp') ?? '';
  const relayState = query.get('RelayState') ?? undefined;
  if (spId) noteClaimedIssuer(req, spId, { idpInitiated: true });
  const sp = spId ? await ctx.registry.get(spId) : undefined;
  if (sp) noteRegisteredIssuer(req);
  if (!sp) throw new AppError('RP_UNKNOWN', { detail: { protocol: 'saml', entityId: spId.slice(0, 256), idpInitiated: true } });
  if (relayState !== undefined && Buffer.byteLength(relayState) > MAX_IDP_INITIATED_RELAY_STATE_BYTES) throw idpInitiatedRelayStateTooLong(Buffer.byteLength(relayState));
  const pending: PendingSso = { spId: sp.id, acsUrl: resolveAcs(sp).location, relayState, nameIdFormat: sp.settings.nameIdFormat };
  res.redirect(303, stepUrl(await beginLogin(req, res, ctx, sp, pending, { forceAuthn: false, passive: false })));
}

/** A RequestedAuthnContext's refs logged, each cut: a request may carry thousands. */
const LOGGED_CONTEXT_REFS = 10;

/** The context a refused request asked for, bounded for its warning; `valueCount` when refs were left out. */
function requestedContextFacts(requested: RequestedAuthnContext | undefined): Record<string, unknown> | undefined {
  if (!requested) return undefined;
  const values = requested.values.slice(0, LOGGED_CONTEXT_REFS).map(clipCallerText);
  return { comparison: requested.comparison, values, ...(requested.values.length > LOGGED_CONTEXT_REFS ? { valueCount: requested.values.length } : {}) };
}

/**
 * Here Stepgate sends the RelayState (in an unsolicited Response), so the sender's 80-byte limit is
 * ours to keep; SPs may refuse more. The page says the limit in plain words, to the user who clicked
 * and to whoever made the link; the warning names the RelayState for the administrator.
 */
function idpInitiatedRelayStateTooLong(bytes: number): AppError {
  return new AppError('SAML_REQUEST_INVALID', {
    userMessage: `This sign-in link is not valid, so it was not used: the information it carries for the application is ${bytes} bytes long, and at most ${MAX_IDP_INITIATED_RELAY_STATE_BYTES} bytes are allowed. Tell whoever gave you the link, so that they can shorten it.`,
    detail: { reason: 'relay-state-too-long', idpInitiated: true, bytes, limit: MAX_IDP_INITIATED_RELAY_STATE_BYTES },
  });
}

/** What the sign-in needs to know of an SP's settings. */
export function spLoginSettings(sp: ServiceProviderRecord): RelyingPartySettings {
  return { allowPasswordChange: sp.settings.allowPasswordChange, ...(sp.settings.policy ? { policy: sp.settings.policy } : {}) };
}

/** Opens the sign-in; the caller sends the browser to its page. */
async function beginLogin(req: Request, res: Response, ctx: SamlContext, sp: ServiceProviderRecord, pending: PendingSso, flags: { forceAuthn: boolean; passive: boolean }): Promise<LoginTransaction> {
  // A refused start keeps nothing: no pending request held for 15 minutes.
  ctx.services.interaction.admitStart(req);
  const pendingId = await savePendingSso(ctx.services.store.kv, pending);
  return ctx.services.interaction.open(req, res, {
    protocol: 'saml',
    rpId: sp.id,
    rpName: sp.name,
    rp: spLoginSettings(sp),
    handoff: { finisher: SAML_FINISHER, ref: pendingId },
    forceAuthn: flags.forceAuthn,
    passive: flags.passive,
    ...(pending.requestedAuthnContext ? { requestedAuthnContext: pending.requestedAuthnContext } : {}),
    ...(loginHintOf(pending.subject) ? { loginHint: loginHintOf(pending.subject) } : {}),
  });
}

/** A subject named by email or username pre-fills the sign-in form; an opaque one (persistent, transient) cannot. */
function loginHintOf(subject: RequestedSubject | undefined): string | undefined {
  const format = subject?.format ?? NAMEID_FORMAT.unspecified;
  return subject?.nameId && (format === NAMEID_FORMAT.email || format === NAMEID_FORMAT.unspecified) ? subject.nameId : undefined;
}
