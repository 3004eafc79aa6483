import type { Request, Response } from 'express';
import { AppError } from '../core/errors.ts';
import { randomId } from '../core/ids.ts';
import { NAMEID_FORMAT, type BindingName } from './constants.ts';
import { rawQuery, readInboundRequest } from './inbound.ts';
import { readLogoutRequest, type LogoutInfo } from './logout-request.ts';
import type { LogoutAnswer } from './logout-response.ts';
import { rememberRequestId } from './replay.ts';
import type { SamlContext } from './saml-context.ts';
import { answerOriginator, recordAnswer, startLogoutRun, verifiedAnswer } from './slo-propagation.ts';
import { refusedLogoutRequest } from './slo-refusal.ts';
import type { SloOrigin } from './slo-run.ts';
import type { SessionParticipant } from '../session/sso-session.ts';

const STASH = 'saml-slo';

/** What a cross-site POST leaves for the same-site GET that follows it. */
type Parked = { kind: 'request'; logout: LogoutInfo } | { kind: 'response'; runId: string; answer: LogoutAnswer };

/**
 * GET /saml/slo: a LogoutRequest, or a participant's LogoutResponse in a logout run, over
 * HTTP-Redirect. The session cookie (SameSite=Lax) comes with a top-level GET.
 */
export async function sloRedirect(req: Request, res: Response, ctx: SamlContext): Promise<void> {
  const query = new URLSearchParams(rawQuery(req));
  if (query.has('SAMLResponse')) {
    // The run is found first, so a refusal of the answer can say that the sign-out here is done; the
    // parameters are read strictly (duplicates, encoding) when the answer is verified.
    const loaded = await ctx.sloRuns.bound(query.get('RelayState') ?? undefined, req);
    await recordAnswer(req, res, ctx, loaded, await verifiedAnswer(req, ctx, 'redirect', loaded.run));
    return;
  }
  await completeLogout(req, res, ctx, await verifiedLogout(req, ctx, 'redirect'));
}

/**
 * POST /saml/slo: a cross-site POST carries no SameSite=Lax cookie, so the browser's session (and
 * the browser binding of a logout run) is invisible here. The verified message is parked and the
 * browser sent on with a 303 to a same-site GET, where the cookies are back.
 */
export async function sloPost(req: Request, res: Response, ctx: SamlContext): Promise<void> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  let parked: Parked;
  if (body.SAMLResponse !== undefined) {
    const { id: runId, run } = await ctx.sloRuns.unbound(typeof body.RelayState === 'string' ? body.RelayState : undefined);
    parked = { kind: 'response', runId, answer: await verifiedAnswer(req, ctx, 'post', run) };
  } else {
    parked = { kind: 'request', logout: await verifiedLogout(req, ctx, 'post') };
  }
  const id = randomId(18);
  await ctx.services.store.kv.set(STASH, id, parked, { ttlSeconds: 120, durable: false });
  res.redirect(303, `/saml/slo/continue?id=${encodeURIComponent(id)}`);
}

export async function sloContinue(req: Request, res: Response, ctx: SamlContext): Promise<void> {
  const parked = await ctx.services.store.kv.consume<Parked>(STASH, new URLSearchParams(rawQuery(req)).get('id') ?? '');
  if (!parked) throw new AppError('TRANSACTION_UNKNOWN', { userTitle: 'Sign-out expired', userMessage: 'This sign-out has expired or is not valid any more. To be sure you are signed out, go back to the application and sign out again there.', detail: { reason: 'logout-expired' } });
  if (parked.kind === 'request') {
    await completeLogout(req, res, ctx, parked.logout);
    return;
  }
  await recordAnswer(req, res, ctx, await ctx.sloRuns.bound(parked.runId, req), parked.answer);
}

async function verifiedLogout(req: Request, ctx: SamlContext, binding: BindingName): Promise<LogoutInfo> {
  try {
    const request = await readInboundRequest(req, 'LogoutRequest', binding, ctx.inbound);
    const logout = readLogoutRequest(request, ctx.services.clock.now(), ctx.services.config.saml.clockSkewSeconds);
    await rememberRequestId(ctx.services.store.kv, request, ctx.services.config.saml);
    return logout;
  } catch (error) {
    throw refusedLogoutRequest(error, ctx.endpoints.logout);
  }
}

/**
 * Ends this browser's session when it is the one the SP names (its NameID, and SessionIndex when
 * given), then tells the session's other SAML participants before answering the SP. When the SP
 * names another session, nothing of that principal's session is left here, which is also Success.
 */
async function completeLogout(req: Request, res: Response, ctx: SamlContext, logout: LogoutInfo): Promise<void> {
  const { services } = ctx;
  const sp = await ctx.registry.get(logout.spId);
  if (!sp) throw new AppError('RP_UNKNOWN', { detail: { protocol: 'saml', entityId: logout.spId } });
  // Also a session whose browser went idle: it may still back its applications' tokens, and it is theirs to end.
  const session = await services.sessions.toSignOut(req);
  const participant = session?.participants.find((p) => p.protocol === 'saml' && p.rpId === sp.id);
  const matches = !!participant && namesParticipant(logout, participant);
  const origin: SloOrigin = { kind: 'sp', spId: sp.id, requestId: logout.requestId, binding: logout.binding, relayState: logout.relayState, sessionEnded: matches };
  if (!session || !matches) {
    req.log.info({ event: 'saml.logout-no-session', sp: sp.id, hadSession: !!session }, 'saml: logout request names no session of this browser');
    await answerOriginator(req, res, ctx, origin, []);
    return;
  }
  await services.sessions.end(req, res, 'saml-slo');
  await services.store.audit.record({ type: 'logout', outcome: 'success', rp: sp.id, userId: session.user.id, username: session.user.username, ip: req.clientIp, requestId: req.requestId, via: 'saml-slo' });
  await startLogoutRun(req, res, ctx, session, origin, participant);
}

/**
 * Whether a verified LogoutRequest names the SP's part of this session: its NameID, and its
 * SessionIndex when given. A transient NameID is new in every Response, and only the last one is
 * kept, while an SP may still hold an earlier one of the same session (a second sign-in there):
 * its SessionIndex, which is the same for every Response of this session to this SP and which only
 * that SP was given, names the session then. Without it, an earlier transient NameID is not known.
 */
function namesParticipant(logout: LogoutInfo, participant: SessionParticipant): boolean {
  const sessionIndexNamed = logout.sessionIndexes.includes(participant.sessionIndex ?? '');
  if (logout.sessionIndexes.length > 0 && !sessionIndexNamed) return false;
  if (participant.nameId === logout.nameId) return true;
  return sessionIndexNamed && participant.nameIdFormat === NAMEID_FORMAT.transient && logout.nameIdFormat === NAMEID_FORMAT.transient;
}
