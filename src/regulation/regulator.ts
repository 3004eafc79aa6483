import type { KeyValue } from '../store/store.ts';
import { updateWithRetry } from '../store/update-with-retry.ts';
import type { Clock } from '../core/clock.ts';

const NAMESPACE = 'regulation';
const MAX_CAS_ATTEMPTS = 20;

export interface RegulationSettings {
  maxFailuresPerUser: number;
  maxFailuresPerIp: number;
  windowSeconds: number;
  lockoutSeconds: number;
}

/**
 * Whose guesses are counted: a name typed at a sign-in, the account a directory found for it (its
 * stable id: every login name of one account, username, email or another login attribute, counts
 * there together), or a secret that is guessed at (the admin bootstrap's).
 */
export type Subject = { login: string } | { account: string } | { secret: string };

interface Counter {
  /** Wrong guesses inside the window (epoch ms). */
  failures: number[];
  lockedUntil?: number;
}

/**
 * A lock this failure started: on the name typed (`login`), the account it names, the client IP, or
 * a guessed secret. For the audit: the moment a lock starts is what an investigation looks for.
 */
export interface StartedLock {
  scope: 'login' | 'account' | 'ip' | 'secret';
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
  /** Wrong password or secret: counts towards the lock of the subject, of the account and of the IP; tells the locks this failure started. */
  failed(account?: string): Promise<StartedLock[]>;
  /** Right: the subject's and the account's counts start again; the IP's keeps counting guesses at other subjects. */
  succeeded(account?: string): Promise<void>;
  /** Neither (the directory could not be asked, or the account is locked): nothing counts. */
  abandoned(): Promise<void>;
}

/** Refused: `busy` when the count is full only with guesses still being checked (not a lock: they end within a moment). */
export type Admission = { allowed: true; attempt: Attempt } | { allowed: false; until: number; scope: 'user' | 'ip'; busy: boolean };

interface Refusal {
  until: number;
  busy: boolean;
}

/**
 * Counts failed guesses per subject and per client IP and bans temporarily. Counters exist for
 * usernames that do not exist too, so a ban reveals nothing about which accounts exist.
 *
 * A guess holds its place from admission until it is settled, so guesses sent in parallel count
 * against the limit before their passwords are checked: of any number of concurrent guesses, at most
 * the limit are ever checked (a check-then-count let every guess in flight pass the check). Places
 * are held in memory: only the server admits guesses, and a place has no meaning after a restart,
 * so a sign-in pays no store write for them; failures are stored, as before.
 */
export class Regulator {
  readonly #kv: KeyValue;
  readonly #settings: RegulationSettings;
  readonly #clock: Clock;
  /** Guesses admitted and not settled yet, per counter key. */
  readonly #inFlight = new Map<string, number>();

  constructor(kv: KeyValue, settings: RegulationSettings, clock: Clock) {
    this.#kv = kv;
    this.#settings = settings;
    this.#clock = clock;
  }

  async admit(subject: Subject, ip: string): Promise<Admission> {
    const subjectKey = keyOf(subject);
    const onSubject = await this.#reserve(subjectKey, this.#settings.maxFailuresPerUser);
    if (onSubject !== undefined) return { allowed: false, ...onSubject, scope: 'user' };
    const onIp = await this.#reserve(ipKey(ip), this.#settings.maxFailuresPerIp);
    if (onIp !== undefined) {
      this.#release(subjectKey);
      return { allowed: false, ...onIp, scope: 'ip' };
    }
    let settled = false;
    // The places are given back only after the outcome is stored: a guess admitted meanwhile counts the place or the failure, never neither.
    const once = async <T>(work: () => Promise<T>, settledAlready: T): Promise<T> => {
      if (settled) return settledAlready;
      settled = true;
      try {
        return await work();
      } finally {
        this.#release(subjectKey);
        this.#release(ipKey(ip));
      }
    };
    const accountKey = (account: string | undefined) => (account === undefined || keyOf({ account }) === subjectKey ? [] : [keyOf({ account })]);
    return {
      allowed: true,
      attempt: {
        failed: (account) =>
          once(async () => {
            const keys = [subjectKey, ipKey(ip), ...accountKey(account)];
            const started = await Promise.all(keys.map((key) => this.#recordFailure(key)));
            return keys.flatMap((key, i) => (started[i] === undefined ? [] : [{ scope: scopeOf(key), until: started[i] }]));
          }, []),
        succeeded: (account) => once(async () => void (await Promise.all([subjectKey, ...accountKey(account)].map((key) => this.#kv.delete(NAMESPACE, key)))), undefined),
        abandoned: () => once(async () => undefined, undefined),
      },
    };
  }

  /**
   * When the ban on a subject lifts, or undefined when there is none: for the account a login turned
   * out to name, known only after the directory was asked.
   */
  async lockedUntil(subject: Subject): Promise<number | undefined> {
    return this.#current(await this.#kv.get<Counter>(NAMESPACE, keyOf(subject))).lockedUntil;
  }

  /** Admin unlock of a login name (any spelling of it) and of the account it names, when known. */
  async unlock(login: string, account?: string): Promise<void> {
    await Promise.all([this.#kv.delete(NAMESPACE, keyOf({ login })), account !== undefined && this.#kv.delete(NAMESPACE, keyOf({ account }))]);
  }

  /**
   * Takes a place for a guess; returns when the ban (or the guesses already in flight) lift instead
   * when there is none. The places are counted before the stored failures are read: a guess gives
   * its place back only after its failure is stored, so it is counted in one of the two, never in
   * neither (it may be in both for a moment, which only refuses sooner).
   */
  async #reserve(key: string, max: number): Promise<Refusal | undefined> {
    const places = (this.#inFlight.get(key) ?? 0) + 1;
    this.#inFlight.set(key, places);
    try {
      const counter = this.#current(await this.#kv.get<Counter>(NAMESPACE, key));
      // Full with guesses in flight: they end within a directory round trip, hence the short wait.
      const refused: Refusal | undefined =
        counter.lockedUntil !== undefined ? { until: counter.lockedUntil, busy: false } : counter.failures.length + places > max ? { until: this.#clock.now() + 1_000, busy: true } : undefined;
      if (refused !== undefined) this.#release(key);
      return refused;
    } catch (error) {
      this.#release(key);
      throw error;
    }
  }

  #release(key: string): void {
    const left = (this.#inFlight.get(key) ?? 1) - 1;
    if (left > 0) this.#inFlight.set(key, left);
    else this.#inFlight.delete(key);
  }

  /** One more failure, atomically (compare-and-set, retried on contention); the ban starts at the limit. When this failure started it: when it lifts. */
  async #recordFailure(key: string): Promise<number | undefined> {
    const ttlSeconds = this.#settings.windowSeconds + this.#settings.lockoutSeconds;
    const max = key.startsWith('ip:') ? this.#settings.maxFailuresPerIp : this.#settings.maxFailuresPerUser;
    return updateWithRetry<Counter, number | undefined>(
      this.#kv,
      NAMESPACE,
      key,
      (stored) => {
        const now = this.#clock.now();
        const counter = this.#current(stored);
        const next: Counter = { failures: [...counter.failures, now] };
        if (counter.lockedUntil !== undefined) next.lockedUntil = counter.lockedUntil;
        else if (next.failures.length >= max) next.lockedUntil = now + this.#settings.lockoutSeconds * 1000;
        const started = counter.lockedUntil === undefined ? next.lockedUntil : undefined;
        return { next, options: { ttlSeconds }, result: started };
      },
      MAX_CAS_ATTEMPTS,
    );
  }

  /**
   * The counter without what has aged out: failures outside the window; and once a ban has lapsed,
   * the failures that caused it (the count starts again from zero, as a directory's lockout does),
   * so a lock lasts lockoutSeconds even when the window is longer.
   */
  #current(stored: Counter | undefined): Counter {
    const now = this.#clock.now();
    if (stored?.lockedUntil !== undefined && stored.lockedUntil <= now) return { failures: [] };
    const windowStart = now - this.#settings.windowSeconds * 1000;
    const counter: Counter = { failures: (stored?.failures ?? []).filter((at) => at > windowStart) };
    if (stored?.lockedUntil !== undefined) counter.lockedUntil = stored.lockedUntil;
    return counter;
  }
}

function keyOf(subject: Subject): string {
  if ('login' in subject) return `u:${loginBucket(subject.login)}`;
  return 'account' in subject ? `a:${subject.account}` : `s:${subject.secret}`;
}

/**
 * Every spelling that can reach one account shares a bucket: DOMAIN\alice, alice@corp, ALICE, the
 * fullwidth ａｌｉｃｅ (compatibility forms, NFKD; LDAP's caseIgnoreMatch folds these, RFC 4518),
 * characters LDAP matching ignores (soft hyphen, zero-width), case folding beyond lower case (lower,
 * upper, lower again maps ß and ẞ to ss), and every combining mark, since directories differ in how
 * they fold accents and dotted letters (slapd takes ALİCE for alice). Merging more spellings than the
 * directory does only makes a lock stricter: jörg and jorg share one.
 */
export function loginBucket(login: string): string {
  const folded = login.normalize('NFKD').toLowerCase().toUpperCase().toLowerCase().normalize('NFKD');
  return folded
    .replace(/[\p{M}\p{Default_Ignorable_Code_Point}]/gu, '')
    .replace(/\s+/gu, ' ')
    .trim()
    .replace(/^[^\\]*\\/u, '')
    .replace(/@.*$/su, '');
}

function scopeOf(key: string): StartedLock['scope'] {
  return key.startsWith('ip:') ? 'ip' : key.startsWith('a:') ? 'account' : key.startsWith('s:') ? 'secret' : 'login';
}

function ipKey(ip: string): string {
  return `ip:${ip}`;
}
