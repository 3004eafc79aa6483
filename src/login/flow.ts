import type { LoginResult } from '../core/types.ts';
import type { SsoSession } from '../session/sso-session.ts';
import type { LoginTransaction } from './transaction.ts';
import { acrFor, amrFor } from '../policy/levels.ts';

export type FlowStep =
  | { kind: 'password' }
  | { kind: 'change-password' }
  | { kind: 'expiry-warning'; days: number }
  | { kind: 'complete'; result: LoginResult };

/**
 * Decides the next sign-in step from the transaction and the SSO session. Pure: no I/O.
 * Policy and MFA steps slot in between "password ok" and "complete".
 */
export function nextStep(tx: LoginTransaction, session: SsoSession | undefined, now: number): FlowStep {
  if (tx.pendingPasswordChange) return { kind: 'change-password' };
  if (tx.pendingExpiryWarning) return { kind: 'expiry-warning', days: tx.pendingExpiryWarning.days };

  const { request } = tx;
  const freshPassword = tx.passwordVerifiedAt !== undefined;
  const tooOld = request.maxAgeSec !== undefined && session !== undefined && now - session.authTime > request.maxAgeSec * 1000;
  const needsPassword = !session || (!freshPassword && (request.forceAuthn || tooOld));
  if (needsPassword) {
    if (request.passive) return { kind: 'complete', result: { ok: false, error: 'login_required', message: 'The user is not signed in and the application asked not to show a sign-in page.' } };
    return { kind: 'password' };
  }

  return {
    kind: 'complete',
    result: { ok: true, user: session.user, sessionId: session.id, authTime: session.authTime, factors: session.factors, amr: amrFor(session.factors), acr: acrFor(session.factors) },
  };
}
