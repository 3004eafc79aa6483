import type { User } from '../core/types.ts';
import type { Logger } from '../core/log.ts';
import type { Clock } from '../core/clock.ts';
import type { AccountState, AdmitAccount, AuthOutcome, Directory, NotAdmitted, PasswordChangeOutcome, PasswordRefusalReason } from './directory.ts';
import { DUMMY_HASH_PROMISE, hashPassword, verifyPassword } from './password-hash.ts';
import { passwordProblems, passwordRuleWords } from './password-rules.ts';
import { AppError } from '../core/errors.ts';
import { findLocalUserByName, type LocalUserRecord } from './local-users.ts';
import type { Collection } from '../store/store.ts';
import type { z } from 'zod';
import type { localDirectorySchema } from '../config/schema.ts';
import { accountExpired } from './account-expiry.ts';

type LocalDirectoryConfig = z.infer<typeof localDirectorySchema>;

const DAY_MS = 86_400_000;
export const PREVIOUS_PASSWORDS_KEPT = 5;
const REUSED = 'It must differ from your previous passwords.';
/** Put before the rules' sentences ("It must …") when a user's own change is refused: they do not say what they are about. */
const NEW_PASSWORD_REFUSED = 'The new password was refused.';

/**
 * The stored password is no longer the one a change was checked against (the user, or an admin, set
 * another meanwhile): written, the change would silently undo that one and drop it from the reuse history.
 */
export class PasswordChangedMeanwhile extends Error {
  constructor() {
    super('the password was changed meanwhile');
    this.name = 'PasswordChangedMeanwhile';
  }
}

/**
 * A new password that passed the rules, already hashed. `applyTo` is meant for `Collection.update`:
 * it sets only the password fields, on the record as stored at the write. Refused: `history` when reuse
 * is all that is wrong with it, `rules` when it breaks a rule (and maybe is reused besides).
 */
export type PreparedPassword = { ok: true; applyTo(current: LocalUserRecord): LocalUserRecord } | { ok: false; reason: Extract<PasswordRefusalReason, 'rules' | 'history'>; message: string };

export function toUser(record: LocalUserRecord): User {
  return {
    id: record.id,
    username: record.username,
    name: record.name,
    email: record.email,
    groups: [...record.groups],
    attributes: record.attributes,
  };
}

/** Users kept in Stepgate's own store: the embedded default, and for guests, lab users and admins. */
export class LocalDirectory implements Directory {
  readonly kind = 'local' as const;
  readonly #users: Collection<LocalUserRecord>;
  readonly #config: LocalDirectoryConfig;
  readonly #clock: Clock;

  constructor(users: Collection<LocalUserRecord>, config: LocalDirectoryConfig, clock: Clock) {
    this.#users = users;
    this.#config = config;
    this.#clock = clock;
  }

  get newPasswordRules(): readonly string[] {
    return passwordRuleWords(this.#config.passwordRules, PREVIOUS_PASSWORDS_KEPT);
  }

  /**
   * Throws AppError SIGN_IN_BUSY, before any password is checked, when too many password checks are
   * under way (password-hash.ts): that is no guess, so the sign-in must not count it as one.
   */
  authenticate(login: string, password: string, requestLog?: Logger): Promise<AuthOutcome>;
  authenticate<Refusal>(login: string, password: string, requestLog: Logger | undefined, options: { admitAccount: AdmitAccount<Refusal> }): Promise<AuthOutcome | NotAdmitted<Refusal>>;
  async authenticate<Refusal>(login: string, password: string, requestLog?: Logger, options?: { admitAccount: AdmitAccount<Refusal> }): Promise<AuthOutcome | NotAdmitted<Refusal>> {
    const record = await findLocalUserByName(this.#users, login.trim());
    // Asked before the check, as the LDAP directory asks before its bind: the check takes tens of
    // milliseconds, and an unlock or a new password landing meanwhile must find the account's forget
    // mark read from before it (the browser proved the password the forget was for).
    if (options && record?.passwordHash && password.length > 0) {
      const refusal = await options.admitAccount(record.id);
      if (refusal !== undefined) return { ok: false, reason: 'not-admitted', accountId: record.id, refusal };
    }
    return refusalLogged(await this.#signIn(record, password), requestLog, { login: login.slice(0, 256) });
  }

  async authenticateAccount(accountId: string, password: string, requestLog?: Logger): Promise<AuthOutcome> {
    return refusalLogged(await this.#signIn(await this.#users.get(accountId), password), requestLog, { accountId });
  }

  /** Checks the password of `record` (none: no such user, at the cost of a real check) and says what the sign-in meets. */
  async #signIn(record: LocalUserRecord | null | undefined, password: string): Promise<AuthOutcome> {
    if (!record?.passwordHash || password.length === 0) {
      await verifyPassword(password || 'x', await DUMMY_HASH_PROMISE); // same cost as a real check
      return { ok: false, reason: 'invalid-credentials' };
    }
    if (!(await verifyPassword(password, record.passwordHash))) return { ok: false, reason: 'invalid-credentials', accountId: record.id };

    const user = toUser(record);
    const now = this.#clock.now();
    const state = this.#stateOf(record, now);
    if (state) return { ok: false, reason: 'account-state', state, user };
    const expiresAt = this.#passwordExpiresAt(record);
    const daysLeft = expiresAt === undefined ? undefined : Math.ceil((expiresAt - now) / DAY_MS);
    const { expiryWarningDays } = this.#config.passwordRules;
    if (record.oneTimeUse && !(await this.#spendOneTimeUse(record.id))) return { ok: false, reason: 'account-state', state: 'disabled', user };
    return {
      ok: true,
      user,
      ...(daysLeft !== undefined && daysLeft <= expiryWarningDays ? { passwordExpiresInDays: daysLeft } : {}),
      ...(record.oneTimeUse ? { spentOneTimeAccount: true as const } : {}),
    };
  }

  /** What the account's record keeps it from, once its password is verified: one answer for a sign-in and for `policy explain`. */
  #stateOf(record: LocalUserRecord, now: number): AccountState | undefined {
    if (record.disabled) return 'disabled';
    if (accountExpired(record, now)) return 'expired';
    if (record.mustChangePassword) return 'must-change';
    const expiresAt = this.#passwordExpiresAt(record);
    return expiresAt !== undefined && expiresAt <= now ? 'password-expired' : undefined;
  }

  /** When the password runs out under passwordRules.maxAgeDays; undefined: never. */
  #passwordExpiresAt(record: LocalUserRecord): number | undefined {
    const { maxAgeDays } = this.#config.passwordRules;
    return maxAgeDays > 0 && record.passwordChangedAt !== undefined ? record.passwordChangedAt + maxAgeDays * DAY_MS : undefined;
  }

  /** A spent one-time account is disabled, so it reads as one. */
  async stateWithoutPassword(accountId: string): Promise<AccountState | undefined> {
    const record = await this.#users.get(accountId);
    return record ? this.#stateOf(record, this.#clock.now()) : undefined;
  }

  /**
   * Disables a one-time account as it signs in; false when another sign-in spent it first. Sign-ins
   * that verified the password in parallel all read the account before any of them disabled it; the
   * check and the write are one step under the file's lock, which also keeps what the CLI changed
   * meanwhile (a whole record read before would put back its old password or groups).
   */
  async #spendOneTimeUse(id: string): Promise<boolean> {
    let spent = false;
    await this.#users.update(id, (current) => {
      if (current.disabled) return current;
      spent = true;
      return { ...current, disabled: true };
    });
    return spent;
  }

  /** Not found once disabled or past its expiry date, like a disabled LDAP account: no reuse, refresh or token for it. */
  async findUserById(id: string): Promise<User | null> {
    const record = await this.#users.get(id);
    if (!record || record.disabled || accountExpired(record, this.#clock.now())) return null;
    return toUser(record);
  }

  async findUser(login: string): Promise<User | null> {
    const record = await findLocalUserByName(this.#users, login.trim());
    return record ? toUser(record) : null;
  }

  /**
   * Checks a new password against the rules and `record`'s previous passwords, and hashes it: the slow
   * part (scrypt), done before the write, so that nothing read before it is written back.
   */
  async prepareNewPassword(record: LocalUserRecord, newPassword: string, options: { mustChange?: boolean } = {}): Promise<PreparedPassword> {
    const broken = passwordProblems(this.#config.passwordRules, newPassword, record.username);
    let reused = false;
    for (const previous of [record.passwordHash, ...record.previousPasswordHashes]) {
      if (previous && (await verifyPassword(newPassword, previous))) {
        reused = true;
        break;
      }
    }
    if (broken.length > 0 || reused) return { ok: false, reason: broken.length > 0 ? 'rules' : 'history', message: [...broken, ...(reused ? [REUSED] : [])].join(' ') };
    const passwordHash = await hashPassword(newPassword);
    const previousPasswordHashes = [record.passwordHash, ...record.previousPasswordHashes].filter((hash): hash is string => !!hash).slice(0, PREVIOUS_PASSWORDS_KEPT);
    return {
      ok: true,
      applyTo: (current) => {
        if (current.passwordHash !== record.passwordHash) throw new PasswordChangedMeanwhile();
        return { ...current, passwordHash, previousPasswordHashes, passwordChangedAt: this.#clock.now(), mustChangePassword: options.mustChange ?? false };
      },
    };
  }

  /** Validates and sets a new password, for an admin (LocalUserAdmin.setPassword): the refusals are worded for them. */
  async setPassword(record: LocalUserRecord, newPassword: string, options: { mustChange?: boolean } = {}): Promise<{ ok: true } | { ok: false; message: string }> {
    const prepared = await this.prepareNewPassword(record, newPassword, options);
    if (!prepared.ok) return { ok: false, message: prepared.message };
    try {
      if (!(await this.#users.update(record.id, prepared.applyTo))) return { ok: false, message: `there is no user ${record.username} any more` };
    } catch (error) {
      if (!(error instanceof PasswordChangedMeanwhile)) throw error;
      return { ok: false, message: `the password of ${record.username} was changed while this one was being checked: nothing was changed; run the command again` };
    }
    return { ok: true };
  }

  async changePassword(accountId: string, oldPassword: string, newPassword: string): Promise<PasswordChangeOutcome> {
    const record = await this.#users.get(accountId);
    if (!record) throw new AppError('LOGIN_FAILED', { detail: { after: 'password-change', reason: 'account-removed' } });
    if (!record.passwordHash || !(await verifyPassword(oldPassword, record.passwordHash))) {
      return { ok: false, reason: 'wrong-current', message: 'The current password is not correct.' };
    }
    this.#refuseAccountState(record);
    const prepared = await this.prepareNewPassword(record, newPassword);
    if (!prepared.ok) return { ok: false, reason: prepared.reason, message: `${NEW_PASSWORD_REFUSED} ${prepared.message}` };
    try {
      // Checked again as stored now: an admin may have disabled the account during the scrypt work above.
      const written = await this.#users.update(record.id, (current) => {
        this.#refuseAccountState(current);
        return prepared.applyTo(current);
      });
      if (!written) throw new AppError('LOGIN_FAILED', { detail: { after: 'password-change', reason: 'account-removed' } });
    } catch (error) {
      if (!(error instanceof PasswordChangedMeanwhile)) throw error;
      return { ok: false, reason: 'changed-meanwhile', message: 'Your password was changed meanwhile (in another window, or by your helpdesk). Enter the current one.' };
    }
    return { ok: true };
  }

  /** A password change is no way into an account that may not sign in: the same refusal, and words, as at sign-in. */
  #refuseAccountState(record: LocalUserRecord): void {
    if (record.disabled) throw new AppError('ACCOUNT_DISABLED', { detail: { state: 'disabled', during: 'password-change' } });
    if (accountExpired(record, this.#clock.now())) throw new AppError('ACCOUNT_EXPIRED', { detail: { state: 'expired', during: 'password-change' } });
  }

  async startupCheck(): Promise<void> {
    await this.#users.list();
  }

  async close(): Promise<void> {}
}

/**
 * A wrong password (or no such user) as one info line, as the LDAP directory writes `ldap.auth.refused`:
 * the on-call admin sees a user's failed sign-ins whichever directory holds the user.
 */
function refusalLogged(outcome: AuthOutcome, log: Logger | undefined, who: { login?: string; accountId?: string }): AuthOutcome {
  if (!outcome.ok && outcome.reason === 'invalid-credentials') {
    log?.info({ event: 'local.auth.refused', ...who, ...(outcome.accountId !== undefined ? { userId: outcome.accountId } : {}), reason: outcome.accountId === undefined ? 'no-such-user-or-no-password' : 'wrong-password' }, 'sign-in refused');
  }
  return outcome;
}
