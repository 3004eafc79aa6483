import type { Logger } from '../core/log.ts';
import type { WarningBudget } from './warning-budget.ts';

/**
 * Refusals that suggest someone other than the user: a code seen before (someone else has it), a
 * guess while the lock is on, and a wrong bootstrap secret (it is printed on the administrator's
 * console only). A wrong password or code is an ordinary mistake.
 */
const SIGNAL_REASONS: ReadonlySet<string> = new Set(['replayed', 'spent-backup-code', 'locked', 'wrong-secret']);

export interface RefusedAttempt {
  /** What was refused, e.g. `login.mfa.refused`. */
  event: string;
  reason: string;
  userId?: string;
  /** The locks this refusal started (`lockAuditFacts`): reaching a lock is a signal. */
  lockStarted?: readonly string[];
  /** A rate limit that is full only with attempts still being checked: no lock, maybe the user's own double click. */
  busy?: boolean;
  /** Further facts of the attempt; never the password, code or secret typed. */
  [fact: string]: unknown;
}

/** The request's logger and the server's WarningBudget (request-warnings.ts). */
export interface RefusalLogContext {
  log: Pick<Logger, 'info' | 'warn'>;
  warnings: WarningBudget;
}

/**
 * One operational line per refused attempt at a password, a code or the bootstrap secret, beside its
 * audit event: a reference a user quotes finds it, and a wrong second factor shows as a wrong password
 * does (`ldap.auth.refused`, info). Warn for what SIGNAL_REASONS names, a lock reached or a rate limit hit.
 * The warnings are thinned per event and reason: a lock refuses without checking a password, so a
 * script against a locked account turned its request rate into warnings (250 requests, 250 lines).
 */
export function logRefusedAttempt(req: RefusalLogContext, attempt: RefusedAttempt, message: string): void {
  const signal = SIGNAL_REASONS.has(attempt.reason) || (attempt.lockStarted?.length ?? 0) > 0 || (attempt.reason.startsWith('rate-limited') && !attempt.busy);
  if (!signal) req.log.info(attempt, message);
  else if (req.warnings.admit(`${attempt.event} ${attempt.reason}`, req.log)) req.log.warn(attempt, message);
}
