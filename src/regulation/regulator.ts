import type { KeyValue } from '../store/store.ts';
import { updateWithRetry } from '../store/update-with-retry.ts';
import type { Clock } from '../core/clock.ts';
import { NAMESPACE, accountKey, codeIpKey, deviceKey, deviceKeyPrefix, ipKey, isClientKey, keyOf, keysStartingWith, loginKey, scopeOf, type Counter } from './counters.ts';
import type { Admission, ClientAdmission, FamiliarDevice, RegulationSettings, Subject } from './regulation.ts';
import { FamiliarDeviceRegister, type ForgetMark } from './familiar-device-register.ts';

const MAX_CAS_ATTEMPTS = 20;

interface Refusal {
  until: number;
  busy: boolean;
}

/**
 * Counts failed guesses per subject and per client (an IPv4 address, an IPv6 /64: clientNetwork)
 * and bans temporarily. Counters exist for
 * usernames that do not exist too, so a ban reveals nothing about which accounts exist.
 *
 * A guess holds its place from admission until it is settled, so guesses sent in parallel count
 * against the limit before their passwords are checked: of any number of concurrent guesses, at most
 * the limit are ever checked (a check-then-count let every guess in flight pass the check). Once the
 * directory has found the account a name belongs to, the guess holds a place on the account too, so
 * the limit holds for guesses at once under all of its names (username, email, DOMAIN\name). Places
 * are held in memory: only the server admits guesses, and a place has no meaning after a restart,
 * so a sign-in pays no store write for them; failures are stored, as before.
 */
export class Regulator {
  readonly #kv: KeyValue;
  readonly #settings: RegulationSettings;
  readonly #clock: Clock;
  readonly #devices: FamiliarDeviceRegister;
  /** Guesses admitted and not settled yet, per counter key. */
  readonly #inFlight = new Map<string, number>();

  constructor(kv: KeyValue, settings: RegulationSettings, clock: Clock) {
    this.#kv = kv;
    this.#settings = settings;
    this.#clock = clock;
    this.#devices = new FamiliarDeviceRegister(kv);
  }

  /**
   * The device a familiar-device cookie claims (FamiliarDevices.recognise), while its account still
   * knows it: not after a password change or an unlock, nor once MAX_FAMILIAR_DEVICES browsers that
   * proved as much signed in since. Otherwise the browser is a stranger.
   */
  async familiar(claimed: FamiliarDevice | undefined): Promise<FamiliarDevice | undefined> {
    return claimed !== undefined && (await this.#devices.knows(claimed)) ? claimed : undefined;
  }

  /**
   * The account's forget mark, read before its password goes to the directory and given to
   * deviceProvedPassword: a forget that lands while the password is checked, or while its session
   * starts, then keeps the browser out, as it proved the password from before the forget.
   */
  async forgetMark(account: string): Promise<ForgetMark> {
    return this.#devices.mark(account);
  }

  /**
   * The browser of `device` proved its account's password, typed as `login`, for SSO session
   * `sessionId` (which the browser can use until `until`): it becomes familiar only at a complete
   * sign-in of that session (deviceSignedIn), so a password without the second factor it was asked
   * for adds nothing. `mark`: the account's forgetMark from before that password was checked; without
   * it, the mark now, which takes a forget that landed since the check for one before it.
   */
  async deviceProvedPassword(sessionId: string, device: FamiliarDevice, login: string, until: number, mark?: ForgetMark): Promise<void> {
    await this.#devices.propose(sessionId, device, login, until, this.#clock.now(), mark ?? (await this.#devices.mark(device.account)));
  }

  /** The browser used SSO session `sessionId`, which it can now use until `until`: a proposed browser waits as long. */
  async deviceSessionUsable(sessionId: string, until: number): Promise<void> {
    await this.#devices.sessionUsable(sessionId, until, this.#clock.now());
  }

  /** SSO session `sessionId` ended: the browser proposed for it is dropped. */
  async deviceSessionEnded(sessionId: string): Promise<void> {
    await this.#devices.sessionEnded(sessionId);
  }

  /**
   * A sign-in of SSO session `sessionId` is complete for `account`: the browser that proved the
   * password for it becomes familiar (see FamiliarDeviceRegister.signedIn). Returns the device and the
   * name typed, for the browser's cookie, when it did.
   */
  async deviceSignedIn(sessionId: string, account: string, proof: { secondFactor: boolean }): Promise<{ device: FamiliarDevice; login: string } | undefined> {
    return this.#devices.signedIn(sessionId, account, proof, this.#clock.now());
  }

  /**
   * After the account's password changed: every browser that proved only the previous one is a
   * stranger again. Returns the new mark, for the browser that proved the new password.
   */
  async forgetDevices(account: string): Promise<ForgetMark> {
    return this.#devices.forget(account);
  }

  /** `device`: the familiar device the guess came from, when its cookie is for the name typed. */
  async admit(subject: Subject, ip: string, device?: FamiliarDevice): Promise<Admission> {
    const subjectKey = keyOf(subject, ip);
    const clientKey = ipKey(ip);
    const placeKey = device === undefined ? subjectKey : deviceKey(device);
    const onSubject = await this.#reserve(placeKey, this.#settings.maxFailuresPerUser);
    if (onSubject !== undefined) return { allowed: false, ...onSubject, scope: device === undefined ? 'user' : 'device' };
    const onIp = await this.#reserve(clientKey, this.#settings.maxFailuresPerIp);
    if (onIp !== undefined) {
      this.#release(placeKey);
      return { allowed: false, ...onIp, scope: 'ip' };
    }
    const places = [placeKey, clientKey];
    const { once, hold } = this.#settlesOnce(places);
    const vouches = (account: string | undefined) => device !== undefined && device.account === account;
    const accountKeys = (account: string | undefined) => (account === undefined || accountKey(account) === subjectKey ? [] : [accountKey(account)]);
    // The counts a guess adds to, besides the client's.
    const countedOn = (account: string | undefined) => (vouches(account) ? [placeKey] : [...new Set([placeKey, subjectKey, ...accountKeys(account)])]);
    return {
      allowed: true,
      attempt: {
        lockAfterLookup: async (account) => {
          if (vouches(account)) return undefined;
          const onName = device === undefined ? undefined : await this.#lockedUntil(subjectKey);
          if (onName !== undefined) return { until: onName, scope: 'user' };
          if (account === undefined) return undefined;
          const key = accountKey(account);
          if (places.includes(key)) {
            const onAccount = await this.#lockedUntil(key);
            return onAccount === undefined ? undefined : { until: onAccount, scope: 'account' };
          }
          const onAccount = await this.#reserve(key, this.#settings.maxFailuresPerUser);
          if (onAccount !== undefined) return { until: onAccount.until, scope: 'account', busy: onAccount.busy };
          hold(key);
          return undefined;
        },
        failed: (account) =>
          once(async () => {
            const keys = [...countedOn(account), clientKey];
            const started = await Promise.all(keys.map((key) => this.#recordFailure(key)));
            return keys.flatMap((key, i) => (started[i] === undefined ? [] : [{ scope: scopeOf(key), until: started[i] }]));
          }, []),
        succeeded: (account) => once(async () => void (await Promise.all(countedOn(account).map((key) => this.#kv.delete(NAMESPACE, key)))), undefined),
        abandoned: () => once(async () => undefined, undefined),
      },
    };
  }

  /**
   * Admits a second-factor code (the user's count is the method's, with its own growing locks) on the
   * client's count of wrong codes: whoever has many users' passwords cannot guess their codes from one
   * address beyond maxFailuresPerIp a window. Wrong passwords have a count of their own (codeIpKey).
   */
  async admitClient(ip: string): Promise<ClientAdmission> {
    const key = codeIpKey(ip);
    const refused = await this.#reserve(key, this.#settings.maxFailuresPerIp);
    if (refused !== undefined) return { allowed: false, ...refused };
    const { once } = this.#settlesOnce([key]);
    return { allowed: true, attempt: { failed: () => once(() => this.#recordFailure(key), undefined), settled: () => once(async () => undefined, undefined) } };
  }

  /** When the ban on a client's (an IPv4 address, an IPv6 /64) codes lifts, or undefined when there is none. */
  async clientLockedUntil(ip: string): Promise<number | undefined> {
    return this.#lockedUntil(codeIpKey(ip));
  }

  /**
   * When the ban on a login name or an account lifts, or undefined when there is none: for the
   * account a login turned out to name, known only after the directory was asked.
   */
  async lockedUntil(subject: { login: string } | { account: string }): Promise<number | undefined> {
    return this.#lockedUntil('login' in subject ? loginKey(subject.login) : accountKey(subject.account));
  }

  /**
   * Admin unlock of a login name (any spelling of it) and, when known, of the account it names, of
   * the account's other sign-in names (`otherNames`: each typed name has a count and a lock of its
   * own) and of its familiar devices, which the account then forgets: after an incident, a browser
   * of whoever had the password must not keep guesses of its own. Tells whether one of them was
   * locked (the audit says if there was a lock to lift), and which of `otherNames` had a count apart
   * from the login's, one name each.
   */
  async unlock(login: string, account?: string, otherNames: readonly string[] = []): Promise<{ wasLocked: boolean; otherNamesCleared: string[] }> {
    const namesByKey = new Map<string, string>([[loginKey(login), login]]);
    for (const name of otherNames) if (!namesByKey.has(loginKey(name))) namesByKey.set(loginKey(name), name);
    const devices = account === undefined ? [] : await keysStartingWith(this.#kv, deviceKeyPrefix(account));
    const keys = [...namesByKey.keys(), ...(account === undefined ? [] : [accountKey(account)]), ...devices];
    const locks = await Promise.all(keys.map((key) => this.#lockedUntil(key)));
    await Promise.all([...keys.map((key) => this.#kv.delete(NAMESPACE, key)), ...(account === undefined ? [] : [this.#devices.forget(account)])]);
    return { wasLocked: locks.some((until) => until !== undefined), otherNamesCleared: [...namesByKey.values()].slice(1) };
  }

  async #lockedUntil(key: string): Promise<number | undefined> {
    return this.#current(await this.#kv.get<Counter>(NAMESPACE, key)).lockedUntil;
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

  /**
   * Runs an admitted guess's outcome once; the places are given back only after it is stored: a guess
   * admitted meanwhile counts the place or the failure, never neither. `hold`: a place taken after
   * the admission (the account's), given back with the others, or at once when the guess is settled
   * already.
   */
  #settlesOnce(places: string[]): { once: <T>(work: () => Promise<T>, settledAlready: T) => Promise<T>; hold: (key: string) => void } {
    let settled = false;
    return {
      once: async (work, settledAlready) => {
        if (settled) return settledAlready;
        settled = true;
        try {
          return await work();
        } finally {
          for (const key of places) this.#release(key);
        }
      },
      hold: (key) => (settled ? this.#release(key) : void places.push(key)),
    };
  }

  #release(key: string): void {
    const left = (this.#inFlight.get(key) ?? 1) - 1;
    if (left > 0) this.#inFlight.set(key, left);
    else this.#inFlight.delete(key);
  }

  /** One more failure, atomically (compare-and-set, retried on contention); the ban starts at the limit. When this failure started it: when it lifts. */
  async #recordFailure(key: string): Promise<number | undefined> {
    const ttlSeconds = this.#settings.windowSeconds + this.#settings.lockoutSeconds;
    const max = isClientKey(key) ? this.#settings.maxFailuresPerIp : this.#settings.maxFailuresPerUser;
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
