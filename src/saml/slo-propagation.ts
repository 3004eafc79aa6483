import type { Request, Response } from 'express';
import { AppError } from '../core/errors.ts';
import { safeEqual } from '../core/secret-box.ts';
import type { SessionParticipant, SsoSession } from '../session/sso-session.ts';
import { STATUS, type BindingName } from './constants.ts';
import { readInboundRequest } from './inbound.ts';
import { readLogoutResponse, type LogoutAnswer } from './logout-response.ts';
import { rememberRequestId } from './replay.ts';
import { newMessageId } from './response-builder.ts';
import type { SamlContext } from './saml-context.ts';
import { refusedLogoutResponse } from './slo-refusal.ts';
import { requestEndpoint, responseEndpoint, sendLogoutRequest, sendLogoutResponse } from './slo-messages.ts';
import type { LoadedRun, SloOrigin, SloResult, SloRun, SloTarget } from './slo-run.ts';
import type { ServiceProviderRecord, SloEndpoint } from './sp-types.ts';

/**
 * Front-channel Single Logout propagation. The SSO session has already ended when a run starts, so
 * a chain broken anywhere still leaves the IdP signed out. The browser is sent to each other SAML
 * participant in turn with a signed LogoutRequest; its LogoutResponse brings the browser back to
 * /saml/slo, and the next one is asked. Then the originator is answered: the SP that asked, with
 * Success (PartialLogout when one did not confirm), or the person, with the list of applications.
 */

/**
 * Starts a run for an ended session. `except` is the participant that asked (it is answered last).
 * Returns false, having answered nothing, when a logout not asked for by an SP has no SAML participant to tell.
 */
export async function startLogoutRun(req: Request, res: Response, ctx: SamlContext, ended: SsoSession, origin: SloOrigin, except?: SessionParticipant): Promise<boolean> {
  const queue: SloTarget[] = ended.participants
    .filter((participant) => participant.protocol === 'saml' && participant !== except)
    .map(({ rpId, nameId, nameIdFormat, sessionIndex }) => ({ rpId, nameId, nameIdFormat, sessionIndex }));
  if (queue.length === 0) {
    if (origin.kind !== 'sp') return false;
    await answerOriginator(req, res, ctx, origin, []);
    return true;
  }
  const { id, browser } = ctx.sloRuns.open(req, res);
  await proceed(req, res, ctx, id, undefined, { browser, user: { id: ended.user.id, username: ended.user.username }, origin, queue, results: [] });
  return true;
}

/**
 * A LogoutResponse for `run`: only the one answering the request pending in it, from the SP it went
 * to. The browser check is the caller's (a cross-site POST brings no cookie). A refusal's page
 * speaks of the sign-out, which here is already done.
 */
export async function verifiedAnswer(req: Request, ctx: SamlContext, binding: BindingName, run: SloRun): Promise<LogoutAnswer> {
  try {
    return await answerToPending(req, ctx, binding, run);
  } catch (error) {
    throw refusedLogoutResponse(error);
  }
}

async function answerToPending(req: Request, ctx: SamlContext, binding: BindingName, run: SloRun): Promise<LogoutAnswer> {
  let message;
  try {
    message = await readInboundRequest(req, 'LogoutResponse', binding, ctx.inbound);
  } catch (error) {
    // A signing SP's answer whose signature is missing or does not verify proves nothing, as an
    // unsigned one does: the run goes on without that SP's confirmation, rather than stop at an
    // error page and leave the SPs after it, and the one that asked, untold.
    if (!(error instanceof AppError && error.code === 'SAML_SIGNATURE_INVALID') || !run.awaiting) throw error;
    req.log.warn({ code: 'SAML_LOGOUT_RESPONSE_UNVERIFIED', sp: run.awaiting.rpId, detail: error.detail }, 'saml: a LogoutResponse whose signature did not verify; the sign-out counts as unconfirmed');
    return { spId: run.awaiting.rpId, responseId: '', inResponseTo: run.awaiting.requestId, status: { top: '' }, signature: 'invalid' };
  }
  const answer = readLogoutResponse(message);
  const awaiting = run.awaiting;
  if (!awaiting || answer.spId !== awaiting.rpId) {
    throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'logout-response-from-unexpected-sp', issuer: answer.spId, expected: awaiting?.rpId } });
  }
  if (!answer.inResponseTo || !safeEqual(answer.inResponseTo, awaiting.requestId)) {
    throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'logout-response-wrong-in-response-to', sp: answer.spId } });
  }
  await rememberRequestId(ctx.services.store.kv, message, ctx.services.config.saml);
  return answer;
}

/** Records a verified answer (for the run read in this browser) and moves on to the next participant. */
export async function recordAnswer(req: Request, res: Response, ctx: SamlContext, { id, run }: LoadedRun, answer: LogoutAnswer): Promise<void> {
  const awaiting = run.awaiting;
  // A parked POST answer is checked again here: the run may have moved on since it was verified.
  if (!awaiting || awaiting.rpId !== answer.spId || !safeEqual(awaiting.requestId, answer.inResponseTo ?? '')) {
    throw refusedLogoutResponse(new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'logout-run-changed' } }));
  }
  const sp = await ctx.registry.get(awaiting.rpId);
  if (answer.signature === 'absent') req.log.warn({ code: 'SAML_LOGOUT_RESPONSE_UNSIGNED', sp: awaiting.rpId }, 'saml: an unsigned LogoutResponse does not confirm the sign-out');
  const success = answer.signature === 'valid' && answer.status.top === STATUS.success;
  const result: SloResult = {
    rpId: awaiting.rpId,
    name: sp?.name ?? awaiting.rpId,
    outcome: success ? 'signed-out' : 'refused',
    ...(success ? {} : { detail: answer.signature === 'valid' ? [answer.status.top, answer.status.second].filter(Boolean).join(' ') : `LogoutResponse signature ${answer.signature}` }),
  };
  const { awaiting: _answered, ...rest } = run;
  await proceed(req, res, ctx, id, run, { ...rest, results: [...run.results, result] });
}

/** Answers whoever asked for the logout, once every participant was asked (or could not be). */
export async function answerOriginator(req: Request, res: Response, ctx: SamlContext, origin: SloOrigin, results: SloResult[]): Promise<void> {
  const partial = results.some((result) => result.outcome !== 'signed-out');
  if (origin.kind === 'sp') {
    const sp = await ctx.registry.get(origin.spId);
    const endpoint = sp && responseEndpoint(sp, origin.binding);
    req.log.info({ event: 'saml.logout-answered', sp: origin.spId, sessionEnded: origin.sessionEnded, participants: results.length, partial }, 'saml: logout request answered');
    if (sp && endpoint) {
      await sendLogoutResponse(res, ctx, sp, endpoint, origin, { top: STATUS.success, ...(partial ? { second: STATUS.partialLogout } : {}) });
      return;
    }
    // An SP without an SLO endpoint cannot be answered: the person is told instead.
  }
  // The provider's own signed-out page names no applications: one that did not confirm is listed here
  // instead, as /logout lists it, rather than the person being told only "You are signed out".
  if (origin.kind === 'redirect' && !(origin.ownPage && partial)) {
    req.log.info({ event: 'saml.logout-run-done', participants: results.length, partial }, 'saml: logout run done; back to the OIDC client');
    res.redirect(303, origin.url);
    return;
  }
  const sessionEnded = origin.kind !== 'sp' || origin.sessionEnded;
  const names = (outcome: (result: SloResult) => boolean) => results.filter(outcome).map((result) => result.name);
  await ctx.sloResults.show(req, res, { sessionEnded, confirmed: names((r) => r.outcome === 'signed-out'), unconfirmed: names((r) => r.outcome !== 'signed-out') });
}

/**
 * Takes the next participants off the queue until one can be asked (those that cannot are results at
 * once), stores the run, and sends the browser on; with nobody left, ends the run and answers.
 */
async function proceed(req: Request, res: Response, ctx: SamlContext, runId: string, expected: SloRun | undefined, next: SloRun): Promise<void> {
  let hop: { sp: ServiceProviderRecord; endpoint: SloEndpoint; nameId: string } | undefined;
  while (!hop && next.queue.length > 0) {
    const [target, ...queue] = next.queue as [SloTarget, ...SloTarget[]];
    next = { ...next, queue };
    const sp = await ctx.registry.get(target.rpId);
    const endpoint = sp && requestEndpoint(sp);
    if (sp && endpoint && target.nameId) {
      hop = { sp, endpoint, nameId: target.nameId };
      next = { ...next, awaiting: { ...target, requestId: newMessageId() } };
    } else {
      const detail = !sp ? 'application-removed' : !endpoint ? 'no-slo-endpoint' : 'no-name-id';
      next = { ...next, results: [...next.results, { rpId: target.rpId, name: sp?.name ?? target.rpId, outcome: 'not-asked', detail }] };
    }
  }
  if (hop || expected) await ctx.sloRuns.replace(runId, expected, next);
  await recordOutcomes(req, ctx, next, next.results.slice(expected?.results.length ?? 0));
  if (hop) {
    req.log.info({ event: 'saml.logout-request-sent', sp: hop.sp.id, binding: hop.endpoint.binding, remaining: next.queue.length }, 'saml: logout request sent to a participant');
    await sendLogoutRequest(res, ctx, hop.sp, hop.endpoint, { ...next.awaiting!, nameId: hop.nameId }, runId);
    return;
  }
  if (expected) await ctx.sloRuns.remove(runId);
  await answerOriginator(req, res, ctx, next.origin, next.results);
}

/** One audit entry and one log line per participant outcome. An SP that never answers has none: its run just expires. */
async function recordOutcomes(req: Request, ctx: SamlContext, run: SloRun, results: SloResult[]): Promise<void> {
  for (const result of results) {
    req.log.info({ event: 'saml.logout-propagated', sp: result.rpId, outcome: result.outcome, detail: result.detail }, 'saml: logout propagated');
    await ctx.services.store.audit.record({
      type: 'logout',
      outcome: result.outcome === 'signed-out' ? 'success' : 'failure',
      rp: result.rpId,
      userId: run.user.id,
      username: run.user.username,
      ip: req.clientIp,
      requestId: req.requestId,
      via: 'saml-slo-propagation',
      result: result.outcome,
      ...(result.detail ? { reason: result.detail } : {}),
    });
  }
}
