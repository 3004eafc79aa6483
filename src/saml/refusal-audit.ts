import type { ErrorRequestHandler, Request } from 'express';
import { AppError } from '../core/errors.ts';
import type { AuditLog } from '../store/store.ts';
import type { MessageKind } from './inbound.ts';

/** What is known of a SAML message when it is refused, learnt as its checks go on. */
interface InboundFacts {
  kind?: MessageKind;
  /** As the message (or the IdP-initiated link) names it: a claim until a signature proves it. */
  issuer?: string;
  registered?: boolean;
  signatureVerified?: boolean;
  idpInitiated?: boolean;
}

/** Per request, so a refusal thrown deep in the checks needs no facts of its own. */
const facts = new WeakMap<Request, InboundFacts>();

function note(req: Request, learnt: InboundFacts): void {
  facts.set(req, { ...facts.get(req), ...learnt });
}

export function noteMessageKind(req: Request, kind: MessageKind): void {
  note(req, { kind });
}

/** The issuer a message or link claims, before anything shows it is who sent it. */
export function noteClaimedIssuer(req: Request, issuer: string, options: { idpInitiated?: boolean } = {}): void {
  note(req, { issuer, signatureVerified: false, ...(options.idpInitiated ? { idpInitiated: true } : {}) });
}

export function noteRegisteredIssuer(req: Request): void {
  note(req, { registered: true });
}

export function noteSignatureVerified(req: Request): void {
  note(req, { signatureVerified: true });
}

// The issuer is the sender's text: bounded, as the reason is, so a refused request never writes a large line.
const MAX_ISSUER_LENGTH = 256;
const MAX_REASON_LENGTH = 64;

/**
 * Where every request the SAML routes refuse passes (an error page follows): one `saml.request`
 * failure per refusal, so an investigation sees probes (forged signatures, replays, unknown SPs)
 * that before were only in the log. Only the refusal's code and log reason are kept, never the
 * message or the detail around the reason (schema texts, signature errors quote what was sent).
 * Server errors (5xx) are not refusals of the request and stay in the log only.
 */
export function auditRefusedRequests(audit: AuditLog): ErrorRequestHandler {
  return async (error, req, _res, next) => {
    if (error instanceof AppError && error.status >= 400 && error.status < 500) {
      await audit.record(refusalEvent(error, req)).catch((auditError: unknown) => req.log.error({ event: 'saml.refusal-audit-failed', err: auditError }, 'saml: the refused request could not be audited'));
    }
    next(error);
  };
}

function refusalEvent(error: AppError, req: Request) {
  const known = facts.get(req) ?? {};
  const reason = typeof error.detail?.reason === 'string' ? error.detail.reason : error.code.toLowerCase().replaceAll('_', '-');
  const issuer = known.issuer?.slice(0, MAX_ISSUER_LENGTH);
  return {
    type: 'saml.request',
    outcome: 'failure' as const,
    code: error.code,
    reason: reason.slice(0, MAX_REASON_LENGTH),
    path: req.path,
    ...(known.kind ? { kind: known.kind } : {}),
    ...(issuer !== undefined ? { issuer, issuerVerified: known.signatureVerified === true } : {}),
    // Under the SP's rp, so `audit --rp` shows what was refused in its name; issuerVerified says whether it was sent by it.
    ...(known.issuer !== undefined && known.registered ? { rp: known.issuer } : {}),
    ...(known.idpInitiated ? { idpInitiated: true } : {}),
    ip: req.clientIp,
    requestId: req.requestId,
  };
}
