import type { Request, Response } from 'express';
import { MAX_LOGIN_LENGTH, type AuthOutcome, type Directory, type NotAdmitted } from '../../directory/directory.ts';
import { lockAuditFacts, type Attempt, type StartedLock } from '../../regulation/regulation.ts';
import type { Regulator } from '../../regulation/regulator.ts';
import type { ForgetMark } from '../../regulation/familiar-device-register.ts';
import type { FamiliarDevices } from '../../regulation/familiar-devices.ts';
import type { LoginInteraction } from '../interaction.ts';
import { stepUrl } from '../step-url.ts';
import type { LoginTransaction } from '../transaction.ts';
import { AppError, ERROR_CATALOGUE, errorTitle } from '../../core/errors.ts';
import { sendPage } from '../../http/render.ts';
import { passwordPage } from '../../../views/login/password.ts';
import { ACCOUNT_STATE_ERRORS, CHANGE_ON_SECURITY_PATH, SIGN_IN_FIELD } from '../account-messages.ts';
import { passwordStepAnswer, passwordToChange } from '../password-step-answer.ts';
import { tooManyAttemptsMessage } from '../lock-message.ts';
import { fillMessage } from '../../config/user-messages.ts';
import { MAX_PASSWORD_LENGTH } from '../../directory/password-rules.ts';
import { messagePage } from '../../../views/message.ts';
import type { StepRefusal } from '../step-refusal.ts';
import { logRefusedAttempt } from '../../http/refused-attempt-log.ts';
import type { SsoSession } from '../../session/sso-session.ts';
import type { FlowStep } from '../flow.ts';
import { signedInAs } from './switch-account.ts';
import { SIGNED_IN_USER_FIELD } from '../../../views/login/signed-in-as.ts';
import type { PasswordChangeHandovers } from '../../account/password-change-handover.ts';

export interface PasswordStepDeps {
  interaction: LoginInteraction;
  directory: Directory;
  regulator: Regulator;
  /** Browsers that signed in before, whose guesses strangers' locks do not refuse. */
  devices: FamiliarDevices;
  /** Where a password to change that the application does not take is handed to "My security". */
  passwordChanges: PasswordChangeHandovers;
}

/** What the user's password is asked again for, as the page says it ("Enter your password again to …"). */
const ASKED_AGAIN_TO: Record<NonNullable<Extract<FlowStep, { kind: 'password' }>['again']>, string> = {
  'mfa-setup': 'set up a second step for your sign-in',
};

/** What refuses a guess once its account is known (Attempt.lockAfterLookup). */
type AccountLock = NonNullable<Awaited<ReturnType<Attempt['lockAfterLookup']>>>;

/** The name the page asking the password again sends: the one typed at the sign-in (older sessions have none: the username). */
function signInName(session: SsoSession): string {
  return session.login ?? session.user.username;
}

/**
 * The session whose user this form asked the password again, when it is that page's form: it names
 * the user signed in in this browser now, with the name the page sent. Its password is then checked
 * for that account, by its id, and counted there: the name typed at the sign-in may no longer find
 * the user (an email changed, a directory rename) or may find someone else now. Any other form (a
 * name other than the one the page sent, a page shown to a user who is no longer signed in here) is
 * a sign-in by the name sent, as this form is on the plain page: it needs that account's password
 * and ends the session of whoever was signed in, as "Not you?" and a sign-in would.
 */
async function askedAgainOf(req: Request, interaction: LoginInteraction, username: string): Promise<SsoSession | undefined> {
  const named: unknown = req.body?.[SIGNED_IN_USER_FIELD];
  if (typeof named !== 'string') return undefined;
  const session = await interaction.deps.sessions.current(req);
  return session?.user.id === named && username === signInName(session) ? session : undefined;
}

/**
 * The name typed in this sign-in's last refused password form, for the form shown again without the
 * refusal (Reload): only until a password was right in it. After that the password page is for
 * whoever is at the browser next ("Not you?", a sign-out), who must not be handed that name.
 */
async function refusedName(interaction: LoginInteraction, tx: LoginTransaction): Promise<string | undefined> {
  return tx.passwordSessionId === undefined && tx.mfa === undefined ? interaction.deps.transactions.typedName(tx.id) : undefined;
}

/**
 * The password form, with the refusal of the form sent before (once). An account that may not sign
 * in gets a page of its own, with the way back to the application (which is told, as on Cancel).
 * `again`: the password of the user signed in in `session`, asked again (FlowStep 'password').
 */
export async function showPassword(req: Request, res: Response, interaction: LoginInteraction, tx: LoginTransaction, refusal?: Extract<StepRefusal, { step: 'password' }>, again?: { session: SsoSession; reason: keyof typeof ASKED_AGAIN_TO }): Promise<void> {
  const { signInHint, helpdesk } = interaction.deps.messages;
  if (refusal?.account) {
    const wayBack = interaction.wayBack(req, res, tx);
    // A password to change that this application does not take: "My security" always does (PASSWORD_CHANGE_NOT_ALLOWED).
    // A form, not a link: it goes on with what this sign-in proved (PasswordChangeHandovers), which a
    // second sign-in there would prove again, spending another OpenLDAP grace sign-in (maybe none is left).
    const changeable = refusal.account === 'PASSWORD_EXPIRED' || refusal.account === 'PASSWORD_MUST_CHANGE';
    const action = changeable ? { action: CHANGE_ON_SECURITY_PATH, csrf: interaction.deps.csrf.token(req, res), label: 'Change your password on My security', fields: { [SIGN_IN_FIELD]: tx.id } } : undefined;
    const link = { href: stepUrl(tx), label: 'Sign in with another account' };
    return sendPage(res, messagePage({ title: errorTitle(refusal.account), message: refusal.message, action, wayBack, link, helpdesk }), refusal.status);
  }
  const hint = signInHint && fillMessage(signInHint, { app: tx.request.rpName });
  const page = passwordPage({
    action: stepUrl(tx, '/password'),
    csrf: interaction.deps.csrf.token(req, res),
    rpName: tx.request.rpName,
    username: refusal?.username ?? (await refusedName(interaction, tx)) ?? tx.request.loginHint,
    error: refusal?.message,
    signedOut: refusal?.signedOut,
    hint,
    cancel: interaction.cancelOption(tx),
    again: again && { user: signedInAs(tx, again.session), login: signInName(again.session), purpose: ASKED_AGAIN_TO[again.reason] },
  });
  sendPage(res, page, refusal?.status ?? 200);
}

/**
 * Checks username and password (or, on the page asking the password again, the signed-in user's
 * password: askedAgainOf). Every failure before the password is verified reads the same.
 */
export async function submitPassword(req: Request, res: Response, deps: PasswordStepDeps, tx: LoginTransaction): Promise<void> {
  const { interaction, directory, regulator, devices } = deps;
  const { audit, clock } = interaction.deps;
  const username = typeof req.body?.username === 'string' ? req.body.username.trim() : '';
  const password = typeof req.body?.password === 'string' ? req.body.password : '';
  const base = { type: 'login.password', rp: tx.request.rpId, ip: req.clientIp, requestId: req.requestId, username: username.slice(0, MAX_LOGIN_LENGTH) };
  const failed = ERROR_CATALOGUE.LOGIN_FAILED.message;
  // The page asking the signed-in user's password again sends their name itself: a refusal of its form
  // keeps no name for the password page after it, which is for whoever is at the browser next ("Not
  // you?", a sign-out in another tab). Its own page shows the name from the session, not the refusal.
  const typed = typeof req.body?.[SIGNED_IN_USER_FIELD] === 'string' ? '' : username;

  if (!username || !password || username.length > MAX_LOGIN_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    // No password: the user may have typed it into the username field and pressed Enter, so what
    // was typed there is left out of the audit event and the log line (audit.log goes into backups
    // and log shippers); its length is kept.
    const { username: typedName, ...withoutName } = base;
    await audit.record({ ...(password ? base : { ...withoutName, loginLength: typedName.length }), outcome: 'failure', reason: 'malformed' });
    logRefusedAttempt(req, { event: 'login.password.refused', reason: 'malformed', ...(password ? { login: base.username } : {}), loginLength: username.length }, 'login: sign-in refused: no username or password, or one too long');
    return interaction.refuse(res, tx, { step: 'password', message: failed, username: typed, status: 401 });
  }
  const again = await askedAgainOf(req, interaction, username);
  const device = await regulator.familiar(devices.recognise(req, username));
  // A familiar device's guesses are not refused by the name's lock: its events say where they came from.
  const event = { ...base, ...(again ? { userId: again.user.id } : {}), ...(device === undefined ? {} : { familiarDevice: true }) };
  // `userId`: the account the name belongs to, once the directory said: a guess typed as an email or
  // DOMAIN\name is then found with the account's other events (audit --user <id>).
  const refuseLocked = async (until: number, scope: string, busy = false, userId?: string, locks: StartedLock[] = []) => {
    await audit.record({ ...event, ...(userId !== undefined ? { userId } : {}), outcome: 'failure', reason: `rate-limited-${scope}`, ...lockAuditFacts(locks) });
    logRefusedAttempt(req, { event: 'login.password.refused', reason: `rate-limited-${scope}`, busy, login: base.username, ...(userId !== undefined ? { userId } : {}), lockedUntil: new Date(until).toISOString(), ...lockAuditFacts(locks) }, busy ? 'login: sign-in refused: too many sign-ins with this name at the same moment' : `login: sign-in refused: locked (${scope})`);
    await interaction.refuse(res, tx, { step: 'password', message: tooManyAttemptsMessage(until, clock.now(), busy), username: typed, status: 429 });
  };
  const admission = await regulator.admit(again ? { account: again.user.id } : { login: username }, req.clientIp, device);
  if (!admission.allowed) return refuseLocked(admission.until, again && admission.scope === 'user' ? 'account' : admission.scope, admission.busy);
  const { attempt } = admission;
  // The guess holds places until it is settled, also when the store or the directory fails.
  const abandonAndThrow = async (error: unknown): Promise<never> => {
    await attempt.abandoned();
    throw error;
  };

  // The account's lock is asked as soon as the directory knows the account, before the password is
  // sent to it: a guess under any spelling or other name of a locked account must not reach a
  // directory that counts it towards a lock of its own (ppolicy, AD's lockout). Nor may more guesses
  // at the account than the limit at once, whatever names they came under: it holds a place there.
  // Its forget mark is read then too: a forget that lands while the password is checked, or while the
  // session starts, keeps this browser out, as it proved the password from before the forget.
  let marked: { account: string; mark: ForgetMark } | undefined;
  const admitAccount = async (account: string): Promise<AccountLock | undefined> => {
    const refusal = await attempt.lockAfterLookup(account);
    if (refusal === undefined) marked = { account, mark: await regulator.forgetMark(account) };
    return refusal;
  };
  // The account asked again is known before the directory is asked: admitted as the directory admits the one a name finds.
  const checkAccount = async (account: string): Promise<AuthOutcome | NotAdmitted<AccountLock>> => {
    const refusal = await admitAccount(account);
    return refusal === undefined ? directory.authenticateAccount(account, password, req.log) : { ok: false, reason: 'not-admitted', accountId: account, refusal };
  };
  const outcome = await (again ? checkAccount(again.user.id) : directory.authenticate(username, password, req.log, { admitAccount })).catch(abandonAndThrow);
  if (!outcome.ok && outcome.reason === 'not-admitted') {
    // No password was checked, so nothing counts; the answer is the lock's, as for a checked one.
    await attempt.abandoned();
    return refuseLocked(outcome.refusal.until, outcome.refusal.scope, outcome.refusal.busy, outcome.accountId);
  }
  if (!outcome.ok && outcome.reason === 'unavailable') {
    await attempt.abandoned();
    await audit.record({ ...event, outcome: 'failure', reason: 'directory-unavailable' });
    throw new AppError('DIRECTORY_UNAVAILABLE', { detail: { directory: outcome.detail } });
  }
  if (!outcome.ok && outcome.reason === 'misconfigured') {
    await attempt.abandoned();
    await audit.record({ ...event, outcome: 'failure', reason: 'directory-misconfigured' });
    throw new AppError('DIRECTORY_MISCONFIGURED', { detail: { directory: outcome.detail } });
  }
  // Known now for certain: the account this login names. Guesses at it under another of its login
  // names (an email instead of the username) may have locked it, also while this password was checked.
  const accountId = again?.user.id ?? (outcome.ok || outcome.reason === 'account-state' ? outcome.user.id : outcome.reason === 'invalid-credentials' ? outcome.accountId : undefined);
  if ((outcome.ok || outcome.reason === 'account-state') && outcome.user.id !== accountId) {
    // A directory that answered for another account than the one asked again would switch this browser's user.
    await attempt.abandoned();
    throw new AppError('LOGIN_FAILED', { detail: { reason: 'another-account', askedAgain: true } });
  }
  const lock = await attempt.lockAfterLookup(accountId).catch(abandonAndThrow);
  if (lock !== undefined) {
    // The same answer for a right and a wrong password, so the lock does not tell which this was.
    // A wrong one still counts for the name typed, which bounds the guesses the directory checks meanwhile.
    const locks = !outcome.ok && outcome.reason === 'invalid-credentials' ? await attempt.failed() : (await attempt.abandoned(), []);
    return refuseLocked(lock.until, lock.scope, lock.busy, accountId, locks);
  }
  if (!outcome.ok && outcome.reason === 'invalid-credentials') {
    const locks = await attempt.failed(accountId);
    await audit.record({ ...event, ...(accountId !== undefined ? { userId: accountId } : {}), outcome: 'failure', reason: 'invalid-credentials', ...lockAuditFacts(locks) });
    // The wrong password itself is the directory's line (ldap.auth.refused); the lock it reached is this one.
    if (locks.length > 0) logRefusedAttempt(req, { event: 'login.password.refused', reason: 'invalid-credentials', login: base.username, ...(accountId !== undefined ? { userId: accountId } : {}), ...lockAuditFacts(locks) }, 'login: sign-in refused: wrong password, which started a lock');
    return interaction.refuse(res, tx, { step: 'password', message: failed, username: typed, status: 401 });
  }
  if (!outcome.ok && outcome.reason === 'account-state') {
    await attempt.succeeded(accountId);
    await audit.record({ ...event, userId: outcome.user.id, outcome: 'failure', reason: `account-${outcome.state}` });
    const answer = passwordStepAnswer(outcome.state, (await interaction.currentSettings(tx.request)).allowPasswordChange);
    const { state, heldBindId } = outcome;
    const account = { id: outcome.user.id, username: outcome.user.username, login: username };
    if (answer.kind === 'change-password') {
      await interaction.deps.transactions.save({ ...tx, pendingPasswordChange: { account, state: answer.state, ...(heldBindId !== undefined ? { heldBindId } : {}) } });
      res.redirect(303, stepUrl(tx, '/change-password'));
      return;
    }
    const code = ACCOUNT_STATE_ERRORS[state];
    // Not here, but on "My security", with what this sign-in proved (the refusal page's form).
    const changeOffered = passwordToChange(state);
    if (changeOffered) await deps.passwordChanges.offer(tx, { account, state, ...(heldBindId !== undefined ? { heldBindId } : {}) });
    req.log.info({ code, state, changeOffered }, 'login: the account may not sign in');
    return interaction.refuse(res, tx, { step: 'password', account: code, message: answer.message, username, status: ERROR_CATALOGUE[code].status });
  }
  if (!outcome.ok) {
    await attempt.abandoned();
    throw new AppError('INTERNAL');
  }

  // An account the directory did not ask admitAccount about is known only now: its mark is read still
  // before the session starts (which may wait seconds for the previous user's applications to be told
  // of its end).
  const forgetMark = marked?.account === outcome.user.id ? marked.mark : await regulator.forgetMark(outcome.user.id);
  await attempt.succeeded(accountId);
  const session = await interaction.startSession(req, res, outcome.user, { login: username, proven: device, forgetMark });
  await audit.record({ ...event, username: outcome.user.username, userId: outcome.user.id, outcome: 'success' });
  const next: LoginTransaction = {
    ...tx,
    passwordSessionId: session.id,
    spentOneTimeAccount: outcome.spentOneTimeAccount,
    pendingExpiryWarning: outcome.passwordExpiresInDays !== undefined ? { days: outcome.passwordExpiresInDays, account: { id: outcome.user.id, username: outcome.user.username, login: username } } : undefined,
  };
  await interaction.deps.transactions.save(next);
  await interaction.proceed(req, res, next, session);
}
