import type { Request, Response } from 'express';
import type { LoginTransaction, VerifiedAccount } from '../transaction.ts';
import { stepUrl } from '../step-url.ts';
import type { PasswordStepDeps } from './password.ts';
import type { LoginInteraction } from '../interaction.ts';
import { AppError, ERROR_CATALOGUE, errorTitle } from '../../core/errors.ts';
import { tooManyAttemptsMessage } from '../lock-message.ts';
import type { StepRefusal } from '../step-refusal.ts';
import { sendPage } from '../../http/render.ts';
import { messagePage } from '../../../views/message.ts';
import { changePasswordPage, type ChangePasswordField } from '../../../views/login/change-password.ts';
import { PASSWORD_CHANGE_REASONS } from '../account-messages.ts';
import { MAX_PASSWORD_LENGTH } from '../../directory/password-rules.ts';
import { lockAuditFacts, type StartedLock } from '../../regulation/regulation.ts';

/** The account the password step verified, whose password this step changes. */
function verifiedAccount(tx: LoginTransaction): VerifiedAccount {
  const account = tx.pendingPasswordChange?.account ?? tx.pendingExpiryWarning?.account;
  if (!account) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'no-password-change-pending' } });
  return account;
}

/**
 * The fields a refusal is about, so that only those are marked. The page after the form's redirect
 * has only the refusal's words (StepRefusal), and each refusal about a field names it: the form's own
 * and the directories' ("Your current password is not correct.", "The new password is too short.",
 * "The new password was refused. It must …"). Others (too many tries, the directory unreachable, a
 * change not allowed now) are about no field.
 */
function fieldsAtFault(message: string): ChangePasswordField[] {
  if (/\bnew passwords?\b/i.test(message)) return ['newPassword', 'confirmPassword'];
  if (/\bcurrent (password|one)\b/i.test(message)) return ['currentPassword'];
  return [];
}

/** The change form, with the refusal of the form sent before (once). */
export function showChangePassword(req: Request, res: Response, interaction: LoginInteraction, tx: LoginTransaction, refusal?: Extract<StepRefusal, { step: 'change-password' }>): void {
  if (refusal?.account) {
    const page = messagePage({ title: errorTitle(refusal.account), message: refusal.message, wayBack: interaction.wayBack(req, res, tx), helpdesk: interaction.deps.messages.helpdesk });
    return sendPage(res, page, refusal.status);
  }
  const { username } = verifiedAccount(tx);
  const reason = tx.pendingPasswordChange ? PASSWORD_CHANGE_REASONS[tx.pendingPasswordChange.state] : 'Choose a new password.';
  const error = refusal?.message;
  const page = changePasswordPage({ action: stepUrl(tx, '/change-password'), csrf: interaction.deps.csrf.token(req, res), username, reason, rules: interaction.deps.newPasswordRules, error, invalidFields: error ? fieldsAtFault(error) : [], cancel: interaction.cancelOption(tx) });
  sendPage(res, page, refusal?.status ?? 200);
}

/** How a change the directory refused by throwing (the account may not sign in) is audited; undefined: not such a refusal. */
const THROWN_REFUSALS: Partial<Record<AppError['code'], string>> = {
  ACCOUNT_DISABLED: 'account-disabled',
  ACCOUNT_EXPIRED: 'account-expired',
  ACCOUNT_LOCKED: 'account-locked',
  LOGIN_FAILED: 'account-removed',
  DIRECTORY_UNAVAILABLE: 'directory-unavailable',
  DIRECTORY_MISCONFIGURED: 'directory-misconfigured',
};

/** Refusals of the account itself, not of the form: the form cannot succeed, whatever is typed. */
const ACCOUNT_REFUSALS: ReadonlySet<AppError['code']> = new Set(['ACCOUNT_DISABLED', 'ACCOUNT_EXPIRED', 'ACCOUNT_LOCKED', 'LOGIN_FAILED']);

/**
 * Writes the new password with the directory's own mechanism, then signs the user in with it: both on
 * the account the password step verified (by its id), never on one a name is looked up to again.
 */
export async function submitChangePassword(req: Request, res: Response, deps: PasswordStepDeps, tx: LoginTransaction): Promise<void> {
  const account = verifiedAccount(tx);
  const { audit, transactions } = deps.interaction.deps;
  const field = (name: string) => (typeof req.body?.[name] === 'string' ? (req.body[name] as string) : '');
  const current = field('currentPassword');
  const next = field('newPassword');
  const base = { type: 'password.change', username: account.username, userId: account.id, rp: tx.request.rpId, ip: req.clientIp, requestId: req.requestId };
  const failed = async (reason: string, message?: string, locks: StartedLock[] = []) => {
    await audit.record({ ...base, outcome: 'failure', reason, ...(message !== undefined ? { message } : {}), ...lockAuditFacts(locks) });
  };
  const refuse = (message: string, status = 400) => deps.interaction.refuse(res, tx, { step: 'change-password', message, status });
  const refuseForm = async (reason: string, error: string) => {
    await failed(reason);
    await refuse(error);
  };
  if (!current || !next) return refuseForm('incomplete', 'Fill in all three fields.');
  if (next !== field('confirmPassword')) return refuseForm('confirmation-differs', 'The two new passwords are not the same.');
  if (next === current) return refuseForm('same-as-current', 'The new password must differ from the current one.');
  if (next.length > MAX_PASSWORD_LENGTH) return refuseForm('too-long', `The new password must be at most ${MAX_PASSWORD_LENGTH} characters long.`);

  // Counted as the sign-in's guesses were: on the name typed there (an email, say, not the directory's
  // username, which may be another person's login) and its familiar device, which strangers' locks do not refuse.
  const device = await deps.regulator.familiar(deps.devices.recognise(req, account.login));
  const admission = await deps.regulator.admit({ login: account.login }, req.clientIp, device);
  // Until when, as the password page says it: "wait and try again" alone leaves the user guessing, and trying.
  const locked = (lock: { until: number; busy?: boolean }) => refuse(tooManyAttemptsMessage(lock.until, deps.interaction.deps.clock.now(), lock.busy), ERROR_CATALOGUE.RATE_LIMITED.status);
  if (!admission.allowed) {
    await failed('rate-limited');
    return locked(admission);
  }
  // Wrong current passwords typed at the sign-in under another of the account's names (an email)
  // locked the account, not this name: the form must not check the password meanwhile.
  const accountLock = await admission.attempt.lockAfterLookup(account.id);
  if (accountLock !== undefined) {
    await admission.attempt.abandoned();
    await failed('rate-limited-account');
    return locked(accountLock);
  }
  const heldBindId = tx.pendingPasswordChange?.heldBindId;
  const changed = await deps.directory.changePassword(account.id, current, next, req.log, heldBindId !== undefined ? { heldBindId } : {}).catch(async (error: unknown) => {
    await admission.attempt.abandoned();
    const reason = error instanceof AppError ? THROWN_REFUSALS[error.code] : undefined;
    if (reason) await failed(reason);
    // The account changed while the form was open (an administrator disabled it): a page of its own,
    // after a redirect, so Reload and Back do not send the three passwords again. An outage stays an
    // error page, whose reference leads to the log line with its cause.
    if (error instanceof AppError && ACCOUNT_REFUSALS.has(error.code)) return error;
    throw error;
  });
  if (changed instanceof AppError) {
    req.log.warn({ code: changed.code, status: changed.status, detail: changed.detail }, `login: password change refused: ${changed.code}`);
    return deps.interaction.refuse(res, tx, { step: 'change-password', message: changed.userMessage, status: changed.status, account: changed.code });
  }
  if (!changed.ok) {
    // Only a wrong current password is a guess; a new password the rules refuse is not, or a user
    // trying to find an acceptable one would lock themselves out.
    const locks = changed.reason === 'wrong-current' ? await admission.attempt.failed(account.id) : (await admission.attempt.abandoned(), []);
    await failed(changed.reason, changed.message, locks);
    return refuse(changed.message);
  }
  await admission.attempt.succeeded(account.id);
  // Whoever else knew the previous password keeps no browser that strangers' locks do not refuse.
  // This browser proved the new password, so the mark of this very forget is its own: only a later
  // forget (an unlock while the sign-in goes on) keeps it out.
  const forgetMark = await deps.regulator.forgetDevices(account.id);

  const outcome = await deps.directory.authenticateAccount(account.id, next, req.log);
  await audit.record({ ...base, outcome: 'success' });
  if (!outcome.ok) throw new AppError('LOGIN_FAILED', { detail: { after: 'password-change', reason: outcome.reason } });
  // The session is the changed account's or none: a directory that answered for another would sign the user in as someone else.
  if (outcome.user.id !== account.id) throw new AppError('LOGIN_FAILED', { detail: { after: 'password-change', reason: 'another-account' } });
  // This browser proved the new password: the first one the account is familiar from again, once its sign-in is complete.
  const session = await deps.interaction.startSession(req, res, outcome.user, { login: account.login, proven: device, forgetMark });
  const updated: LoginTransaction = { ...tx, pendingPasswordChange: undefined, pendingExpiryWarning: undefined, passwordSessionId: session.id, spentOneTimeAccount: outcome.spentOneTimeAccount };
  await transactions.save(updated);
  await deps.interaction.proceed(req, res, updated, session);
}
