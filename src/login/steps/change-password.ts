import type { Request, Response } from 'express';
import type { LoginTransaction } from '../transaction.ts';
import { stepUrl } from '../step-url.ts';
import type { PasswordStepDeps } from './password.ts';
import type { LoginInteraction } from '../interaction.ts';
import { AppError } from '../../core/errors.ts';
import { sendPage } from '../../http/render.ts';
import { changePasswordPage } from '../../../views/login/change-password.ts';
import { PASSWORD_CHANGE_REASONS } from '../account-messages.ts';
import { MAX_PASSWORD_LENGTH } from '../../directory/password-rules.ts';

function usernameFor(tx: LoginTransaction): string {
  const username = tx.pendingPasswordChange?.username ?? tx.pendingExpiryWarning?.username;
  if (!username) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'no-password-change-pending' } });
  return username;
}

export function showChangePassword(req: Request, res: Response, interaction: LoginInteraction, tx: LoginTransaction, options: { error?: string; status?: number } = {}): void {
  usernameFor(tx);
  const reason = tx.pendingPasswordChange ? PASSWORD_CHANGE_REASONS[tx.pendingPasswordChange.state] : 'Choose a new password.';
  sendPage(res, changePasswordPage({ action: stepUrl(tx, '/change-password'), csrf: interaction.deps.csrf.token(req, res), reason, error: options.error, cancel: interaction.cancelOption(tx) }), options.status ?? 200);
}

/** Writes the new password with the directory's own mechanism, then signs the user in with it. */
export async function submitChangePassword(req: Request, res: Response, deps: PasswordStepDeps, tx: LoginTransaction): Promise<void> {
  const username = usernameFor(tx);
  const { audit, transactions } = deps.interaction.deps;
  const field = (name: string) => (typeof req.body?.[name] === 'string' ? (req.body[name] as string) : '');
  const current = field('currentPassword');
  const next = field('newPassword');
  const base = { type: 'password.change', username, rp: tx.request.rpId, ip: req.clientIp, requestId: req.requestId };
  const refuseForm = async (reason: string, error: string) => {
    await audit.record({ ...base, outcome: 'failure', reason });
    showChangePassword(req, res, deps.interaction, tx, { error, status: 400 });
  };
  if (!current || !next) return refuseForm('incomplete', 'Fill in all three fields.');
  if (next !== field('confirmPassword')) return refuseForm('confirmation-differs', 'The two new passwords are not the same.');
  if (next === current) return refuseForm('same-as-current', 'The new password must differ from the current one.');
  if (next.length > MAX_PASSWORD_LENGTH) return refuseForm('too-long', `The new password must be at most ${MAX_PASSWORD_LENGTH} characters long.`);

  const admission = await deps.regulator.admit({ login: username }, req.clientIp);
  if (!admission.allowed) {
    await audit.record({ ...base, outcome: 'failure', reason: 'rate-limited' });
    throw new AppError('RATE_LIMITED');
  }
  const changed = await deps.directory.changePassword(username, current, next, req.log).catch(async (error: unknown) => {
    await admission.attempt.abandoned();
    throw error;
  });
  if (!changed.ok) {
    // Only a wrong current password is a guess; a new password the rules refuse is not, or a user
    // trying to find an acceptable one would lock themselves out.
    await (changed.wrongCurrent ? admission.attempt.failed() : admission.attempt.abandoned());
    await audit.record({ ...base, outcome: 'failure', reason: changed.message });
    return showChangePassword(req, res, deps.interaction, tx, { error: changed.message, status: 400 });
  }
  await admission.attempt.succeeded();

  const outcome = await deps.directory.authenticate(username, next, req.log);
  await audit.record({ ...base, outcome: 'success', ...(outcome.ok ? { userId: outcome.user.id } : {}) });
  if (!outcome.ok) throw new AppError('LOGIN_FAILED', { detail: { after: 'password-change', reason: outcome.reason } });
  const session = await deps.interaction.startSession(req, res, outcome.user);
  const updated: LoginTransaction = { ...tx, pendingPasswordChange: undefined, pendingExpiryWarning: undefined, passwordSessionId: session.id, spentOneTimeAccount: outcome.spentOneTimeAccount };
  await transactions.save(updated);
  await deps.interaction.proceed(req, res, updated, session);
}
