import type { Request, Response } from 'express';
import type { LoginInteraction } from '../interaction.ts';
import type { LoginTransaction } from '../transaction.ts';
import type { SsoSession } from '../../session/sso-session.ts';
import type { MfaMethod, MfaMethodId } from '../../mfa/mfa-method.ts';
import { MFA_METHOD_IDS } from '../../policy/levels.ts';
import { AppError } from '../../core/errors.ts';
import { SIGNED_OUT_BEFORE_CODE } from '../../../views/mfa/messages.ts';
import { anotherUserUrl } from './answer-for-another-user.ts';

/** An answer the guard takes: the current session, the method, and the SSO session the step was shown to. */
export interface MfaAnswer {
  session: SsoSession;
  method: MfaMethod;
  /** The current session's id, or for a setup the id of this user's earlier session in this browser (see mfaAnswerContext). */
  shownToSessionId: string;
  /**
   * Setup only: the user set the method up in another browser since this setup page was shown (the
   * flow now asks for a code). The answer confirms nothing, but is told why (see submitMfaEnroll):
   * the entry just added to the app would otherwise fail as wrong codes until the method locks.
   */
  setUpElsewhere: boolean;
}

/**
 * An MFA answer counts only when (1) this transaction showed the MFA step to (2) the session that is
 * still current, and (3) the flow, asked again now, still wants exactly this step and method. This
 * closes posting a code to another interaction, reusing one after logout, and skipping steps.
 * undefined: the answer is not taken; the caller sends the browser to the transaction's current step
 * (the session changed in another tab, the step was done there), where nothing is skipped either,
 * unless this answered already (another user signed in meanwhile: a redirect to showAnswerForAnotherUser's page).
 *
 * A setup's answer is also taken from a newer session of the same user (a password typed in another
 * tab starts one): the transaction is this browser's (its binding cookie is checked before any step),
 * so the secret was shown to this browser, for this user, and the current session has just proved the
 * same user's password here. Throwing it away would leave a dead entry in the user's app. The code
 * still confirms only the secret shown under `shownToSessionId`, never one shown to another browser.
 * A setup's answer is also taken, as `setUpElsewhere`, when another browser set the method up meanwhile.
 */
export async function mfaAnswerContext(req: Request, res: Response, interaction: LoginInteraction, tx: LoginTransaction, expected: 'mfa-challenge' | 'mfa-enroll', methodParam: string): Promise<MfaAnswer | undefined> {
  const session = await interaction.deps.sessions.current(req);
  const sameSession = session !== undefined && tx.mfa?.sessionId === session.id;
  if (!session || !tx.mfa || tx.mfa.userId !== session.user.id || (!sameSession && expected !== 'mfa-enroll')) {
    const anotherUser = session !== undefined && tx.mfa !== undefined && tx.mfa.userId !== session.user.id;
    const reason = !session ? 'signed-out-meanwhile' : anotherUser ? 'another-user-signed-in-meanwhile' : 'mfa-answer-not-bound-to-this-session';
    req.log.warn({ event: 'login.mfa.answer-not-taken', reason, hasSession: !!session, shown: !!tx.mfa }, 'login: MFA answer not taken');
    // Signed out meanwhile (another tab, an administrator): the password page that follows says why
    // the code just typed was dropped; without a word it reads as a sign-in that started over by itself.
    // The username field as the page would have it without the message: filled from the application's login_hint.
    if (!session && tx.mfa) await interaction.deps.transactions.keepRefusal(tx, { step: 'password', message: SIGNED_OUT_BEFORE_CODE, status: 200, username: tx.request.loginHint ?? '', signedOut: true });
    if (anotherUser) res.redirect(303, anotherUserUrl(tx, expected));
    return undefined;
  }
  const step = await interaction.stepWith(req, tx, session);
  const methodId = MFA_METHOD_IDS.find((id) => id === methodParam);
  const method = methodId && interaction.deps.mfa.get(methodId);
  // The application's policy changed while the code was being typed and now refuses the user: the
  // transaction's page says so (its refusal page, with the way back), as it would on Reload.
  if (step.kind === 'denied') {
    req.log.warn({ event: 'login.mfa.answer-not-taken', reason: 'policy-denies-now', policy: step.policy, rule: step.rule }, 'login: MFA answer not taken; the policy refuses the user now');
    return undefined;
  }
  const setUpElsewhere = expected === 'mfa-enroll' && step.kind === 'mfa-challenge';
  const dueMethods = (step.kind === expected || setUpElsewhere) && 'methods' in step ? step.methods : [];
  if (!method || !dueMethods.includes(method.id)) {
    req.log.warn({ event: 'login.mfa.answer-not-taken', reason: 'mfa-step-not-due', step: step.kind, method: methodParam.slice(0, 32) }, 'login: MFA answer not taken; showing the current step');
    return undefined;
  }
  if (!sameSession) req.log.info({ reason: 'setup-shown-to-earlier-session-of-this-user' }, 'login: setup code taken for the secret shown before this browser signed in again');
  return { session, method, shownToSessionId: tx.mfa.sessionId, setUpElsewhere };
}

/** The method a step page shows: the first the policy accepts (TOTP is the only one so far). */
export function firstMethod(interaction: LoginInteraction, methods: readonly MfaMethodId[]): MfaMethod {
  const method = methods.map((id) => interaction.deps.mfa.get(id)).find((candidate) => candidate !== undefined);
  if (!method) throw new AppError('INTERNAL', { detail: { reason: 'no-registered-mfa-method', methods } });
  return method;
}
