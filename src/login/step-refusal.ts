import type { ErrorCode } from '../core/errors.ts';
import type { CodeProblem } from '../mfa/code-problem.ts';

/**
 * Why a step's form was refused, kept for the one page that shows it: the form's answer is a
 * redirect to that page (Post/Redirect/Get), so Reload and Back never send the form again. The
 * typed username is kept to fill the form in again; a password never is. `status`: the page's.
 */
export type StepRefusal =
  /**
   * `account`: the password was right, but the account may not sign in (shown instead of the form).
   * `signedOut`: not a refusal of what was typed, but why the password is asked again (the fields are not marked wrong).
   */
  | { step: 'password'; message: string; status: number; username: string; account?: ErrorCode; signedOut?: true }
  /** `account`: the account may no longer sign in (disabled, locked, expired, removed meanwhile): shown instead of the form. */
  | { step: 'change-password'; message: string; status: number; account?: ErrorCode }
  | { step: 'mfa-challenge'; problem: Exclude<CodeProblem, 'expired'>; status: number }
  /** `shownToSessionId`: the session the secret was shown to, when the code came from a newer one of the same user. */
  | { step: 'mfa-enroll'; problem: Exclude<CodeProblem, 'enrolled-elsewhere'>; status: number; shownToSessionId?: string };

export type RefusedStep = StepRefusal['step'];
