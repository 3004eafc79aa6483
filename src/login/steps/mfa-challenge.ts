import type { Request, Response } from 'express';
import type { LoginInteraction } from '../interaction.ts';
import { stepUrl } from '../step-url.ts';
import type { LoginTransaction } from '../transaction.ts';
import type { SsoSession } from '../../session/sso-session.ts';
import type { MfaMethod } from '../../mfa/mfa-method.ts';
import { sendPage } from '../../http/render.ts';
import { totpChallengePage } from '../../../views/mfa/totp-challenge.ts';
import { codeProblemMessage, lockMessage } from '../../../views/mfa/messages.ts';
import { mfaAnswerContext } from './mfa-guard.ts';
import { fillMessage } from '../../config/user-messages.ts';
import type { StepRefusal } from '../step-refusal.ts';
import { logRefusedAttempt } from '../../http/refused-attempt-log.ts';
import { signedInAs } from './switch-account.ts';

/** The code page's status after a refused code (and while the method is locked). */
const STATUS = { invalid: 401, 'wrong-backup-code': 401, replayed: 401, 'spent-backup-code': 401, malformed: 400, locked: 429 } as const;

/**
 * The code page, with the problem of the code sent before (once); while the method is locked it
 * says until when instead of showing the form.
 */
export async function showMfaChallenge(req: Request, res: Response, interaction: LoginInteraction, tx: LoginTransaction, session: SsoSession, method: MfaMethod, refusal?: Extract<StepRefusal, { step: 'mfa-challenge' }>): Promise<void> {
  const problem = refusal?.problem;
  const { csrf, clock, messages } = interaction.deps;
  const view = await method.startChallenge({ user: session.user, ip: req.clientIp });
  const digits = view.digits ?? 6;
  const locked = view.lockedUntil !== undefined ? lockMessage(view.lockedUntil, clock.now(), view.lockedFor) : undefined;
  const page = totpChallengePage({
    action: stepUrl(tx, `/mfa/${method.id}`),
    csrf: csrf.token(req, res),
    rpName: tx.request.rpName,
    digits,
    locked,
    backupCodesLeft: view.backupCodesLeft ?? 0,
    error: problem && codeProblemMessage(problem, digits, { backupCodesAccepted: true }),
    prompt: messages.totpPrompt && fillMessage(messages.totpPrompt, { username: session.user.name ?? session.user.username, app: tx.request.rpName }),
    cancel: interaction.cancelOption(tx),
    signedIn: signedInAs(tx, session),
  });
  sendPage(res, page, locked ? STATUS.locked : (refusal?.status ?? 200));
}

/** Checks the answer; on success the session records the factor and the flow goes on. */
export async function submitMfaChallenge(req: Request, res: Response, interaction: LoginInteraction, tx: LoginTransaction, methodParam: string): Promise<void> {
  const answer = await mfaAnswerContext(req, res, interaction, tx, 'mfa-challenge', methodParam);
  if (!answer) return res.headersSent ? undefined : res.redirect(303, stepUrl(tx));
  const { session, method } = answer;
  const { audit, clock, sessions } = interaction.deps;
  const result = await method.verify({ user: session.user, ip: req.clientIp }, req.body?.code);
  const base = { type: 'login.mfa', method: method.id, rp: tx.request.rpId, userId: session.user.id, username: session.user.username, ip: req.clientIp, requestId: req.requestId };
  if (result.ok) {
    await audit.record({ ...base, outcome: 'success', ...(result.backupCodesLeft !== undefined ? { reason: 'backup-code', backupCodesLeft: result.backupCodesLeft } : {}) });
    const updated = await sessions.addFactor(session, { method: result.amr, at: clock.now() });
    // A backup code is spent for good: the user is told so, and how many are left, before the application.
    const left = result.backupCodesLeft;
    const told = left === undefined ? tx : { ...tx, pendingBackupCodeNotice: { left, userId: updated.user.id, sessionId: updated.id } };
    if (told !== tx) await interaction.deps.transactions.save(told);
    await interaction.proceed(req, res, told, updated);
    return;
  }
  // A lock that lifts only by an administrator has no end: lockedUntil null.
  const lock = result.lockStarted ? { lockStarted: ['method'], lockedUntil: result.lockedUntil == null ? null : new Date(result.lockedUntil).toISOString(), lockCount: result.lockCount } : {};
  await audit.record({ ...base, outcome: 'failure', reason: result.reason, ...lock });
  logRefusedAttempt(req, { event: 'login.mfa.refused', method: method.id, reason: result.reason, userId: session.user.id, rp: tx.request.rpId, ...lock }, `login: ${method.id} code refused (${result.reason})`);
  // Locked: the code page says so, and until when.
  if (result.reason === 'locked') return res.redirect(303, stepUrl(tx));
  const problem = result.reason === 'invalid' && result.backupCode ? 'wrong-backup-code' : result.reason;
  await interaction.refuse(res, tx, { step: 'mfa-challenge', problem, status: STATUS[problem] });
}
