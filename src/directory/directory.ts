import type { Logger } from '../core/log.ts';
import type { User } from '../core/types.ts';

/** The longest login name any directory is asked about; a longer one is refused as malformed before a lookup. */
export const MAX_LOGIN_LENGTH = 256;

/**
 * Account states that are only revealed after the password was verified.
 * `password-expired`: the user may still change it (AD, or a ppolicy grace sign-in);
 * `password-expired-no-grace`: the directory accepts the expired password for nothing any more, not even
 * a change (ppolicy without grace sign-ins left), so only an administrator's reset helps.
 */
export type AccountState = 'disabled' | 'locked' | 'expired' | 'password-expired' | 'password-expired-no-grace' | 'must-change';

export type AuthOutcome =
  /**
   * `spentOneTimeAccount`: this sign-in used up a one-time account, which the directory reports
   * disabled from now on; the sign-in's own later steps go on with the user it verified.
   */
  | { ok: true; user: User; passwordExpiresInDays?: number; spentOneTimeAccount?: true }
  /**
   * `accountId`: the id of the account the login named when there is one, so that guesses at one
   * account by its several login names (username, email) count together. Never shown to the user.
   */
  | { ok: false; reason: 'invalid-credentials'; accountId?: string }
  /**
   * Password verified, but the account may not sign in as it is. `heldBindId`: the directory kept the
   * connection this sign-in bound as the user (a grace sign-in of an expired password, which the directory
   * counts); given to changePassword, the change runs on it instead of spending another grace sign-in.
   */
  | { ok: false; reason: 'account-state'; state: AccountState; user: User; heldBindId?: string }
  | { ok: false; reason: 'unavailable'; detail: string }
  /** The directory answered, but its entries do not fit the configuration (`detail` names the setting, for the log). */
  | { ok: false; reason: 'misconfigured'; detail: string };

/** The directory's entries do not fit the configuration: no retry helps, an administrator must fix it. */
export class DirectoryMisconfiguredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DirectoryMisconfiguredError';
  }
}

/**
 * Why a directory refused a password change: the `reason` of the `password.change` audit event (README
 * "Reading the audit log"), set by the directory where it refuses, so that rewording what the user is told
 * changes no audit line. Only `wrong-current` counts as a failed password guess: a refused new password
 * does not (a user looking for an acceptable one would lock themselves out), nor does a locked account,
 * which is told what a wrong current password is told although the directory never checked it.
 * `refused`: the directory refused for a reason Stepgate does not know.
 */
export type PasswordRefusalReason =
  | 'wrong-current'
  | 'account-locked'
  | 'incomplete'
  | 'rules'
  | 'history'
  | 'too-young'
  | 'password-expired'
  | 'grace-lapsed'
  | 'not-allowed'
  | 'needs-tls'
  | 'changed-meanwhile'
  | 'directory-unavailable'
  | 'refused';

/** `message`: what the user is told, in plain words. */
export type PasswordChangeOutcome = { ok: true } | { ok: false; reason: PasswordRefusalReason; message: string };

/**
 * Asked with the id of the account a login names, after the directory found it and before the
 * password is checked: a refusal (Stepgate's lock on the account, or its limit of guesses at the account at once) ends the sign-in there. The
 * directory's own lockout counts every wrong password it is sent, so a locked account's guesses must
 * not reach it, whatever name they were typed under.
 */
export type AdmitAccount<Refusal> = (accountId: string) => Promise<Refusal | undefined>;

/** `admitAccount` refused the account the login names: its password was sent nowhere. */
export interface NotAdmitted<Refusal> {
  ok: false;
  reason: 'not-admitted';
  accountId: string;
  refusal: Refusal;
}

/** Primary authentication. Implementations: local (store), ldap (LDAP / Active Directory). */
export interface Directory {
  readonly kind: 'local' | 'ldap';
  /**
   * Verifies a password. Never throws for bad credentials; the outcome says what happened.
   * `requestLog`: the sign-in request's logger, so the directory's lines about it carry its request id.
   */
  authenticate(login: string, password: string, requestLog?: Logger): Promise<AuthOutcome>;
  /**
   * The same, asking `admitAccount` between finding the account and checking its password: a check
   * may cost something outside Stepgate (LDAP: the bind counts towards the directory's lockout), and
   * takes long enough (a bind, a local hash) for an unlock to land meanwhile, which the caller must
   * tell from one before the check. The caller checks the account's lock on the outcome as well.
   */
  authenticate<Refusal>(login: string, password: string, requestLog: Logger | undefined, options: { admitAccount: AdmitAccount<Refusal> }): Promise<AuthOutcome | NotAdmitted<Refusal>>;
  /**
   * Verifies the password of the account with this id (User.id), as `authenticate` does a login's:
   * the sign-in that follows a password change, which must be the account whose password was changed.
   */
  authenticateAccount(accountId: string, password: string, requestLog?: Logger): Promise<AuthOutcome>;
  /** Re-reads a user by stable id (SSO reuse, userinfo, refresh). */
  findUserById(id: string): Promise<User | null>;
  /** Looks a user up by login name (admin tools, policy explain), whatever the account's state. */
  findUser(login: string): Promise<User | null>;
  /**
   * The state `authenticate` would answer for the account with this id once its password is verified,
   * as far as the directory can tell without the password; undefined when that is none. For `policy
   * explain`, which has no password. A directory without it (LDAP) has only `findUserById`'s answer,
   * which leaves out a disabled or expired account.
   */
  stateWithoutPassword?(accountId: string): Promise<AccountState | undefined>;
  /**
   * Changes the password of the account with this id (User.id: the one the sign-in verified) with the
   * directory's own mechanism; a refusal says why (`reason`) and, in plain words, what the user is told.
   * By id, never by a name looked up again: a username need not lead back to its own account (a users.filter
   * on another attribute, a uid holding `@` that the lookup strips), so a change by name could reach
   * another person's account, or none. Throws AppError LOGIN_FAILED when no account has the id any more.
   * `heldBindId`: from the sign-in's account-state outcome, when the directory kept its bound connection.
   */
  changePassword(accountId: string, oldPassword: string, newPassword: string, requestLog?: Logger, options?: { heldBindId?: string }): Promise<PasswordChangeOutcome>;
  /**
   * What a new password must be, in words shown above the change form; undefined where the directory's
   * own server decides (LDAP, AD), whose rules Stepgate cannot read.
   */
  readonly newPasswordRules?: readonly string[];
  /** Throws with a precise message when the directory cannot be used. `requestLog`: a /readyz probe's log. */
  startupCheck(requestLog?: Logger): Promise<void>;
  close(): Promise<void>;
}
