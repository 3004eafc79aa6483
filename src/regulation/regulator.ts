import type { KeyValue } from '../store/store.ts';
import type { Clock } from '../core/clock.ts';

const NAMESPACE = 'regulation';
/**
 * How long an admitted attempt holds its place without an outcome: longer than any directory call
 * (connect and search timeouts are seconds), so only an attempt whose request died is forgotten.
 */
const IN_FLIGHT_MS = 60_000;
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
  /** Attempts admitted and not settled yet (epoch ms of admission). */
  inFlight?: number[];
  lockedUntil?: number;
}

/** An admitted guess: say how it ended, once. `account`: the account the directory found for the login, when it found one. */
export interface Attempt {
  /** Wrong password or secret: counts towards the lock of the subject, of the account and of the IP. */
  failed(account?: string): Promise<void>;
  /** Right: the subject's and the account's counts start again; the IP's keeps counting guesses at other subjects. */
  succeeded(account?: string): Promise<void>;
  /** Neither (the directory could not be asked, or the account is locked): nothing counts. */
  abandoned(): Promise<void>;
}

export type Admission = { allowed: true; attempt: Attempt } | { allowed: false; until: number; scope: 'user' | 'ip' };

/**
 * Counts failed guesses per subject and per client IP and bans temporarily. Counters exist for
 * usernames that do not exist too, so a ban reveals nothing about which accounts exist.
 *
 * A guess holds its place from admission until it is settled, so guesses sent in parallel count
 * against the limit before their passwords are checked: of any number of concurrent guesses, at most
 * the limit are ever checked (a check-then-count made every guess in flight pass the check).
 */
export class Regulator {
  readonly #kv: KeyValue;
  readonly #settings: RegulationSettings;
  readonly #clock: Clock;

  constructor(kv: KeyValue, settings: RegulationSettings, clock: Clock) {
    this.#kv = kv;
    this.#settings = settings;
    this.#clock = clock;
  }

  async admit(subject: Subject, ip: string): Promise<Admission> {
    const at = this.#clock.now();
    const subjectKey = keyOf(subject);
    const onSubject = await this.#reserve(subjectKey, at, this.#settings.maxFailuresPerUser);
    if (onSubject !== undefined) return { allowed: false, until: onSubject, scope: 'user' };
    const onIp = await this.#reserve(ipKey(ip), at, this.#settings.maxFailuresPerIp);
    if (onIp !== undefined) {
      await this.#settle(subjectKey, at, 'release');
      return { allowed: false, until: onIp, scope: 'ip' };
    }
    let settled = false;
    const once = async (work: () => Promise<void>) => {
      if (settled) return;
      settled = true;
      await work();
    };
    return {
      allowed: true,
      attempt: {
        failed: (account) =>
          once(async () => void (await Promise.all([this.#settle(subjectKey, at, 'failure'), this.#settle(ipKey(ip), at, 'failure'), ...this.#alsoAccount(subjectKey, account, at, 'failure')]))),
        succeeded: (account) =>
          once(async () => void (await Promise.all([this.#settle(subjectKey, at, 'reset'), this.#settle(ipKey(ip), at, 'release'), ...this.#alsoAccount(subjectKey, account, at, 'reset')]))),
        abandoned: () => once(async () => void (await Promise.all([this.#settle(subjectKey, at, 'release'), this.#settle(ipKey(ip), at, 'release')]))),
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

  #alsoAccount(subjectKey: string, account: string | undefined, at: number, outcome: 'failure' | 'reset'): Array<Promise<void>> {
    const key = account === undefined ? undefined : keyOf({ account });
    return key === undefined || key === subjectKey ? [] : [this.#settle(key, at, outcome)];
  }

  /** Takes a place for an attempt; returns when the ban (or the attempts already in flight) lift instead when there is none. */
  async #reserve(key: string, at: number, max: number): Promise<number | undefined> {
    return this.#change(key, (counter) => {
      if (counter.lockedUntil !== undefined && counter.lockedUntil > at) return { refusedUntil: counter.lockedUntil };
      if (counter.failures.length + (counter.inFlight?.length ?? 0) >= max) return { refusedUntil: at + 1_000 };
      return { next: { ...counter, inFlight: [...(counter.inFlight ?? []), at] } };
    });
  }

  /** `failure` counts; `release` frees the attempt's place; `reset` also clears the count and the ban (a right password). */
  async #settle(key: string, at: number, outcome: 'failure' | 'release' | 'reset'): Promise<void> {
    await this.#change(key, (counter) => {
      const index = counter.inFlight?.indexOf(at) ?? -1;
      const inFlight = index < 0 ? counter.inFlight : counter.inFlight!.toSpliced(index, 1);
      // Other attempts still in flight keep their places.
      if (outcome === 'reset') return { next: { failures: [], ...(inFlight?.length ? { inFlight } : {}) } };
      const next: Counter = { ...counter, inFlight };
      if (outcome === 'failure') {
        const now = this.#clock.now();
        next.failures = [...counter.failures, now];
        const max = key.startsWith('ip:') ? this.#settings.maxFailuresPerIp : this.#settings.maxFailuresPerUser;
        if (next.failures.length >= max) next.lockedUntil = now + this.#settings.lockoutSeconds * 1000;
      }
      return { next };
    });
  }

  /** Reads, changes and writes back one counter atomically (compare-and-set, retried on contention). */
  async #change(key: string, change: (counter: Counter) => { next?: Counter; refusedUntil?: number }): Promise<number | undefined> {
    const ttlSeconds = this.#settings.windowSeconds + this.#settings.lockoutSeconds;
    for (let round = 0; round < MAX_CAS_ATTEMPTS; round++) {
      const stored = await this.#kv.get<Counter>(NAMESPACE, key);
      const { next, refusedUntil } = change(this.#current(stored));
      if (refusedUntil !== undefined) return refusedUntil;
      if (await this.#kv.compareAndSet(NAMESPACE, key, stored, next!, { ttlSeconds })) return undefined;
    }
    // Twenty concurrent writers on one counter: refuse rather than let a guess through uncounted.
    return this.#clock.now() + 1_000;
  }

  /** The counter without what has aged out: failures outside the window, attempts whose request died, a lapsed ban. */
  #current(stored: Counter | undefined): Counter {
    const now = this.#clock.now();
    const windowStart = now - this.#settings.windowSeconds * 1000;
    const counter: Counter = { failures: (stored?.failures ?? []).filter((at) => at > windowStart) };
    const inFlight = (stored?.inFlight ?? []).filter((at) => at > now - IN_FLIGHT_MS);
    if (inFlight.length) counter.inFlight = inFlight;
    if (stored?.lockedUntil !== undefined && stored.lockedUntil > now) counter.lockedUntil = stored.lockedUntil;
    return counter;
  }
}

function keyOf(subject: Subject): string {
  if ('login' in subject) return `u:${loginBucket(subject.login)}`;
  return 'account' in subject ? `a:${subject.account}` : `s:${subject.secret}`;
}

/**
 * Every spelling that can reach one account shares a bucket: DOMAIN\alice, alice@corp, ALICE, the
 * fullwidth ａｌｉｃｅ and decomposed accents (NFKC; LDAP's caseIgnoreMatch folds these too, RFC 4518),
 * characters LDAP matching ignores (soft hyphen, zero-width), and case folding beyond lower case
 * (upper then lower maps ß to ss). Merging more spellings than the directory does only makes a
 * lock stricter.
 */
export function loginBucket(login: string): string {
  return login
    .normalize('NFKC')
    .replace(/\p{Default_Ignorable_Code_Point}/gu, '')
    .replace(/\s+/gu, ' ')
    .trim()
    .replace(/^[^\\]*\\/u, '')
    .replace(/@.*$/su, '')
    .toUpperCase()
    .toLowerCase();
}

function ipKey(ip: string): string {
  return `ip:${ip}`;
}
