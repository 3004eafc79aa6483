/**
 * What the regulator and its callers speak in: whose guesses count (Subject, FamiliarDevice), the
 * limits (RegulationSettings), an admitted guess to settle (Attempt, ClientAttempt) or a refusal
 * (Admission, ClientAdmission), and the locks a failure started (StartedLock) as the audit gives them.
 */

export interface RegulationSettings {
  maxFailuresPerUser: number;
  maxFailuresPerIp: number;
  windowSeconds: number;
  lockoutSeconds: number;
}

/**
 * Whose guesses are counted: a name typed at a sign-in, the account a directory found for it (its
 * stable id: every login name of one account, username, email or another login attribute, counts
 * there together), or a secret that is guessed at (the admin bootstrap's). A secret's guesses count
 * per client only: it is unguessable, and one count for every client let anyone lock it for everyone.
 */
export type Subject = { login: string } | { account: string } | { secret: string };

/**
 * A browser the account completed a sign-in from before, as its familiar-device cookie proves
 * (familiar-devices.ts) and the account's register still knows (familiar-device-register.ts: not
 * after a password change Stepgate made, nor an unlock). Its guesses at that account count on a
 * counter of its own instead of the name's and the account's, whose locks do not refuse it:
 * strangers' guesses cannot lock a user out at their usual browser, and the user's typos there lock
 * only that browser (AD FS Extranet Smart Lockout's familiar locations, OWASP's device cookies).
 */
export interface FamiliarDevice {
  /** One browser's, kept while its cookie is renewed. */
  id: string;
  account: string;
}

/**
 * A lock this failure started: on the name typed (`login`), the account it names, a familiar device,
 * the client IP, or a guessed secret. For the audit: the moment a lock starts is what an
 * investigation looks for.
 */
export interface StartedLock {
  scope: 'login' | 'account' | 'device' | 'ip' | 'secret';
  /** When it lifts (epoch ms). */
  until: number;
}

/** The audit's fields for locks a failure started: which, and when they lift (ISO 8601); none when it started none. */
export function lockAuditFacts(locks: readonly StartedLock[]): { lockStarted?: Array<StartedLock['scope']>; lockedUntil?: string } {
  if (locks.length === 0) return {};
  return { lockStarted: locks.map((lock) => lock.scope), lockedUntil: new Date(Math.max(...locks.map((lock) => lock.until))).toISOString() };
}

/** An admitted guess: say how it ended, once. `account`: the account the directory found for the login, when it found one. */
export interface Attempt {
  /**
   * The lock that refuses this guess once the directory said which account the name is (undefined:
   * none): the account's, which guesses under its other names may have started. A familiar device's
   * guess at its own account meets none; at another account (the name now names someone else), the
   * name's lock too, which its admission did not ask.
   *
   * Admitted, the guess holds a place on the account too, until it is settled: of the guesses at one
   * account under all its names at once, at most maxFailuresPerUser are checked, so a directory
   * whose own lockout threshold is above it never locks the account. Refused while the places are
   * full (`busy`), not locked: the guesses holding them end within a moment. Asked again for the same
   * account (after the check), it holds no second place.
   */
  lockAfterLookup(account: string | undefined): Promise<{ until: number; scope: 'user' | 'account'; busy?: boolean } | undefined>;
  /**
   * Wrong password or secret: counts towards the lock of the subject, of the account and of the IP
   * (a familiar device's guess at its own account: of the device and of the IP); tells the locks this
   * failure started.
   */
  failed(account?: string): Promise<StartedLock[]>;
  /** Right: the counts it would have added to start again (not the IP's, which keeps counting guesses at other subjects). */
  succeeded(account?: string): Promise<void>;
  /** Neither (the directory could not be asked, or the account is locked): nothing counts. */
  abandoned(): Promise<void>;
}

/** Refused: `busy` when the count is full only with guesses still being checked (not a lock: they end within a moment). */
export type Admission = { allowed: true; attempt: Attempt } | { allowed: false; until: number; scope: 'user' | 'device' | 'ip'; busy: boolean };

/** An admitted guess counted on its client's count only: say how it ended, once. */
export interface ClientAttempt {
  /** Wrong: counts towards the client's lock; tells when the lock it started lifts, if it started one. */
  failed(): Promise<number | undefined>;
  /** Right, or no guess after all (a code typed again, a lock refused it): nothing counts. */
  settled(): Promise<void>;
}

export type ClientAdmission = { allowed: true; attempt: ClientAttempt } | { allowed: false; until: number; busy: boolean };
