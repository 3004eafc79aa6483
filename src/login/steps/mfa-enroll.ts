import type { Request, Response } from 'express';
import type { LoginInteraction } from '../interaction.ts';
import { stepUrl } from '../step-url.ts';
import type { LoginTransaction } from '../transaction.ts';
import type { SsoSession } from '../../session/sso-session.ts';
import type { MfaMethod } from '../../mfa/mfa-method.ts';
import { sendPage } from '../../http/render.ts';
import { totpEnrollPage } from '../../../views/mfa/totp-enroll.ts';
import { backupCodesPage } from '../../../views/mfa/backup-codes.ts';
import { setupTimeLimitMessage, SIGNED_IN_AGAIN_NOTICE } from '../../../views/mfa/messages.ts';
import type { StepRefusal } from '../step-refusal.ts';
import { mfaAnswerContext } from './mfa-guard.ts';
import { auditSetup, confirmMfaSetup, shownSecret } from './mfa-setup.ts';
import { SIGN_IN_LIFETIME_SECONDS } from '../transaction.ts';
import { setupAllowedUntil } from '../flow.ts';
import { MFA_METHOD_IDS } from '../../policy/levels.ts';
import { logRefusedAttempt } from '../../http/refused-attempt-log.ts';
import { signedInAs } from './switch-account.ts';

/**
 * Setup page: the secret as QR code and as text; reloading in this browser shows the same secret until
 * it expires. `refusal.shownToSessionId`: the session the secret was shown to, when the answer came from
 * a newer session of the same user (see mfaAnswerContext), so the page shows the secret already scanned.
 * `signedInAgain`: this sign-in showed its MFA step to an earlier session of the user, whose secret
 * (or registration, after an administrator's reset) the app may hold: the page says to delete it,
 * once, as the new secret is bound to this session.
 */
export async function showMfaEnroll(req: Request, res: Response, interaction: LoginInteraction, tx: LoginTransaction, session: SsoSession, method: MfaMethod, shown: { refusal?: Extract<StepRefusal, { step: 'mfa-enroll' }>; signedInAgain?: boolean } = {}): Promise<void> {
  const { refusal } = shown;
  const problem = refusal?.problem;
  const shownToSessionId = refusal?.shownToSessionId ?? session.id;
  const secret = await shownSecret(method, { user: session.user, sessionId: shownToSessionId }, problem);
  const page = totpEnrollPage({
    action: stepUrl(tx, `/mfa/${method.id}/enroll`),
    csrf: interaction.deps.csrf.token(req, res),
    reason: `${tx.request.rpName} needs a second step when you sign in, and you have not set one up yet.`,
    // The setup's own secret lives longer than the sign-in (it is shown later): the sign-in's end is the
    // limit, or before it the end of what the session's password allows (the flow then asks for it again),
    // or the session's idle timeout: nothing is sent while the app is set up.
    timeLimit: setupTimeLimitMessage(Math.min(tx.createdAt + SIGN_IN_LIFETIME_SECONDS * 1000, setupAllowedUntil(tx, session), interaction.deps.sessions.liveForBrowserUntil(session)) - interaction.deps.clock.now(), tx.request.rpName),
    ...secret,
    notice: shown.signedInAgain ? SIGNED_IN_AGAIN_NOTICE : secret.notice,
    cancel: interaction.cancelOption(tx),
    signedIn: signedInAs(tx, session),
  });
  sendPage(res, page, refusal?.status ?? 200);
}

/**
 * Activates the method with a current code, records the factor, and has the transaction's page show
 * the backup codes until the user continues (a reload, or the answer to a second click, shows them again).
 */
export async function submitMfaEnroll(req: Request, res: Response, interaction: LoginInteraction, tx: LoginTransaction, methodParam: string): Promise<void> {
  const answer = await mfaAnswerContext(req, res, interaction, tx, 'mfa-enroll', methodParam);
  if (!answer) return res.headersSent ? undefined : res.redirect(303, stepUrl(tx));
  const { session, method, shownToSessionId, setUpElsewhere } = answer;
  const { audit, transactions } = interaction.deps;
  const setup = { session, method, rpId: tx.request.rpId, shownToSessionId };
  if (setUpElsewhere) {
    // The moment that reveals a factor registered by someone else (or the user's own setup on two
    // devices): the code page says so, rather than counting codes from the dead entry as wrong ones.
    await auditSetup(req, audit, setup, 'failure', 'enrolled-elsewhere');
    logRefusedAttempt(req, { event: 'login.mfa-setup.refused', method: method.id, reason: 'enrolled-elsewhere', userId: session.user.id, rp: tx.request.rpId }, 'login: setup answered after the user set the method up in another browser; showing the code page');
    return interaction.refuse(res, tx, { step: 'mfa-challenge', problem: 'enrolled-elsewhere', status: 409 });
  }
  const showingCodes = (codes: string[]): LoginTransaction => (codes.length > 0 ? { ...tx, pendingBackupCodes: { codes, userId: session.user.id, sessionId: session.id } } : tx);
  // Saved before the factor is recorded: a second click's redirect, arriving meanwhile, shows the codes rather than the code page.
  const result = await confirmMfaSetup(req, interaction.deps, setup, async (codes) => {
    if (codes.length > 0) await transactions.save(showingCodes(codes));
  });
  if (!result.ok) {
    // Set up meanwhile by the same form sent twice (a double click, a retry): the first answer's
    // transaction page goes on, with its backup codes; a new secret here could never be confirmed.
    if (result.reason === 'expired' && (await method.isEnrolled(session.user))) return res.redirect(303, stepUrl(tx));
    const status = result.reason === 'malformed' ? 400 : 401;
    // The new secret belongs to the current session, so that a reload shows it again.
    if (result.reason === 'expired') return interaction.refuse(res, await interaction.bindMfa(tx, session), { step: 'mfa-enroll', problem: result.reason, status });
    return interaction.refuse(res, tx, { step: 'mfa-enroll', problem: result.reason, status, ...(shownToSessionId !== session.id ? { shownToSessionId } : {}) });
  }
  await interaction.proceed(req, res, showingCodes(result.backupCodes), result.session);
}

/**
 * A sign-in that ran out while its setup was open: what was shown to this browser is forgotten, so
 * that the next sign-in shows a new secret, as the expiry page tells the user.
 */
export async function forgetShownSetup(req: Request, interaction: LoginInteraction, methodParam: string): Promise<void> {
  const session = await interaction.deps.sessions.current(req);
  const methodId = MFA_METHOD_IDS.find((id) => id === methodParam);
  const method = methodId && interaction.deps.mfa.get(methodId);
  if (session && method?.enrollment) await method.enrollment.forget({ user: session.user, sessionId: session.id });
}

/** The backup codes this sign-in's enrollment just issued; continuing hands the sign-in on. */
export function showIssuedBackupCodes(req: Request, res: Response, interaction: LoginInteraction, tx: LoginTransaction, codes: string[]): void {
  sendPage(res, backupCodesPage({ codes, notice: 'Your authenticator app is set up.', next: { action: stepUrl(tx, '/continue'), csrf: interaction.deps.csrf.token(req, res), label: `Continue to ${tx.request.rpName}` } }));
}
