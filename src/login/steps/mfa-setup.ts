import type { Request } from 'express';
import type { Clock } from '../../core/clock.ts';
import type { AuditLog } from '../../store/store.ts';
import type { SessionService } from '../../session/session-service.ts';
import type { SsoSession } from '../../session/sso-session.ts';
import type { EnrollmentContext, EnrollmentResult, MfaEnrollment, MfaMethod } from '../../mfa/mfa-method.ts';
import { AppError } from '../../core/errors.ts';
import { qrCodeDataUri } from '../../mfa/qr-code.ts';
import type { TotpEnrollOptions } from '../../../views/mfa/totp-enroll.ts';
import { codeProblemMessage, SETUP_OPEN_ELSEWHERE_NOTICE } from '../../../views/mfa/messages.ts';
import type { CodeProblem } from '../../mfa/code-problem.ts';
import { logRefusedAttempt } from '../../http/refused-attempt-log.ts';

/** The method's self-service setup; the flow offers to set up only methods that have one (MfaRegistry.enrollableMethods). */
export function enrollmentOf(method: MfaMethod): MfaEnrollment {
  if (!method.enrollment) throw new AppError('INTERNAL', { detail: { reason: 'method-without-enrollment', method: method.id } });
  return method.enrollment;
}

/** The setup page's secret and the problem with the code last sent for it. */
export type ShownSecret = Pick<TotpEnrollOptions, 'secret' | 'uri' | 'qrDataUri' | 'digits' | 'periodSeconds' | 'algorithm' | 'error' | 'notice'>;

/** The secret shown to `context`'s browser: the same one on a reload, so a QR code already scanned stays valid, until it expires. */
export async function shownSecret(method: MfaMethod, context: EnrollmentContext, problem?: CodeProblem): Promise<ShownSecret> {
  const view = await enrollmentOf(method).begin(context);
  return {
    secret: view.secret,
    uri: view.uri,
    qrDataUri: await qrCodeDataUri(view.uri),
    digits: view.digits,
    periodSeconds: view.periodSeconds,
    algorithm: view.algorithm,
    error: problem && codeProblemMessage(problem, view.digits, { backupCodesAccepted: false }),
    notice: view.openElsewhere ? SETUP_OPEN_ELSEWHERE_NOTICE : undefined,
  };
}

export interface SetupDeps {
  audit: AuditLog;
  sessions: SessionService;
  clock: Clock;
}

/** A setup's form, answered by `session`. */
export interface SetupAnswer {
  session: SsoSession;
  method: MfaMethod;
  /** What the setup is for, in the audit: the application of the sign-in, or "My security". */
  rpId: string;
  /** The session the secret was shown to, when an earlier one of the same user in this browser (see mfaAnswerContext). */
  shownToSessionId?: string;
  /** The user moves the method to a new authenticator (MfaEnrollment.finish); audited as mfa.replace. */
  replacing?: boolean;
}

export type SetupOutcome = { ok: true; session: SsoSession; backupCodes: string[] } | Extract<EnrollmentResult, { ok: false }>;

/** Audits a setup's answer (mfa.enroll, or mfa.replace for a move), also one refused before its code is checked. */
export function auditSetup(req: Request, audit: AuditLog, answer: SetupAnswer, outcome: 'success' | 'failure', reason?: string): Promise<void> {
  const { session, method } = answer;
  return audit.record({
    type: answer.replacing ? 'mfa.replace' : 'mfa.enroll',
    method: method.id,
    rp: answer.rpId,
    userId: session.user.id,
    username: session.user.username,
    ip: req.clientIp,
    requestId: req.requestId,
    outcome,
    ...(reason ? { reason } : {}),
  });
}

/**
 * Confirms a user's own setup with the code the new authenticator shows, the same during a sign-in
 * (mfa-enroll.ts) and on "My security" (account-routes.ts): activates the method, audits the answer,
 * and records the code in the SSO session as a second factor proved now (it was). `beforeFactor` runs
 * with the new backup codes before that, for a caller that must keep them first.
 */
export async function confirmMfaSetup(req: Request, deps: SetupDeps, answer: SetupAnswer, beforeFactor?: (backupCodes: string[]) => Promise<void>): Promise<SetupOutcome> {
  const { session, method, replacing = false } = answer;
  const result = await enrollmentOf(method).finish({ user: session.user, sessionId: answer.shownToSessionId ?? session.id, ip: req.clientIp }, req.body?.code, { replacing });
  await auditSetup(req, deps.audit, answer, result.ok ? 'success' : 'failure', result.ok ? undefined : result.reason);
  if (!result.ok) {
    // Here, not in the sign-in step: a setup from "My security" is refused the same way and logged the same way.
    logRefusedAttempt(req, { event: 'login.mfa-setup.refused', method: method.id, reason: result.reason, userId: session.user.id, rp: answer.rpId }, `${method.id} setup code refused (${result.reason})`);
    return result;
  }
  await beforeFactor?.(result.backupCodes);
  const stepped = await deps.sessions.addFactor(session, { method: result.amr, at: deps.clock.now() });
  return { ok: true, session: stepped, backupCodes: result.backupCodes };
}
