import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';

/** How many recent wrong-password refusals the pace is set by. */
const KEPT = 32;
/** The pace: the duration nine in ten of the recent refusals of a wrong password took at most. */
const PACE_QUANTILE = 0.9;

/** The latest KEPT durations, and the quantile of them. */
class RecentDurations {
  readonly #kept: number[] = [];
  #next = 0;

  add(ms: number): void {
    if (this.#kept.length < KEPT) this.#kept.push(ms);
    else this.#kept[this.#next] = ms;
    this.#next = (this.#next + 1) % KEPT;
  }

  /** The smallest kept duration that at least `quantile` of them do not exceed; undefined: none kept yet. */
  quantile(quantile: number): number | undefined {
    if (this.#kept.length === 0) return undefined;
    const sorted = [...this.#kept].sort((a, b) => a - b);
    return sorted[Math.ceil(quantile * sorted.length) - 1];
  }
}

/**
 * Waits `ms` on `monotonic`, fractions of a millisecond included. A timer fires a millisecond late
 * at best, and never early: it waits all but the last millisecond or two, and turns of the event
 * loop wait the rest. Rounded to whole milliseconds instead, the pace held nothing where the
 * directory answers in under one (slapd: a wrong password 0.6 ms, an unknown login 0.3 ms), and a
 * 1 ms timer where it lacked half of one: at the sign-in page the fastest of five wrong passwords
 * then told about a third of the real users, against a tenth of the unknown names.
 */
async function waitPrecisely(ms: number, monotonic: () => number): Promise<void> {
  const until = monotonic() + ms;
  const byTimer = Math.floor(ms) - 1;
  if (byTimer >= 1) await sleep(byTimer);
  while (monotonic() < until) await nextTurn();
}

/** A sign-in by login on the pace's clock: when it started, and how long it has waited for pooled connections. */
export interface SignInTime {
  readonly startedAt: number;
  waitedMs: number;
}

/**
 * Makes a sign-in refused for an unknown login take as long as one refused for a wrong password. The
 * directory does more for a wrong password on an entry than for a bind as a DN that does not exist:
 * slapd's ppolicy commits pwdFailureTime to its database, Active Directory counts badPwdCount and
 * asks the PDC emulator. On slapd with ppolicy a wrong password took about 4 ms and an unknown
 * login's bind 1.5 ms, which told which logins exist although both cost the same operations.
 *
 * So both refusals are held back until the pace has passed since the sign-in started: the time nine
 * in ten of the recent wrong-password refusals took at most (result 49, timed from the start of
 * their sign-in). Both kinds then end together but for the slowest tenth of each, where a busy
 * moment slows either. Held to the median, and only the unknown logins, the fastest wrong passwords
 * stood out below every unknown login: the fastest of five tries told about half the real users
 * (measured at the sign-in page). A duration drawn from the recent ones instead made unknown logins
 * slower at the median wherever their own work takes about as long (the longer of the two). No
 * unknown login's duration is kept: anyone can send many slow ones. A right password waits for nothing.
 *
 * Both are timed without the time the sign-in waited for a pooled connection: a queue says how busy
 * the pool is, not which refusal it is, and both kinds wait in the same queues. Counted in, one client
 * sending 200 wrong passwords at once set the pace to 640 ms (a pool of 4 on slapd), and every
 * refusal after it, anyone's typo included, was held that long until 29 newer refusals replaced them.
 */
export class RefusalPace {
  readonly #refusals = new RecentDurations();
  readonly #monotonic: () => number;
  readonly #pause: (ms: number) => Promise<void>;

  /** `monotonic` and `pause`: a clock for sign-in durations and a wait (tests give their own). */
  constructor(deps: { monotonic?: () => number; pause?: (ms: number) => Promise<void> } = {}) {
    this.#monotonic = deps.monotonic ?? (() => performance.now());
    this.#pause = deps.pause ?? ((ms) => waitPrecisely(ms, this.#monotonic));
  }

  /** When a sign-in by login starts (before its search), for `wrongPassword` and `unknownLogin`. */
  start(): SignInTime {
    return { startedAt: this.#monotonic(), waitedMs: 0 };
  }

  /**
   * When a sign-in asks a pool for a connection: the function returned, called once it has one, takes
   * the wait out of the sign-in's time. `signIn` undefined: not a sign-in by login, nothing is paced.
   */
  waitingForConnection(signIn: SignInTime | undefined): () => void {
    if (signIn === undefined) return () => {};
    const asked = this.#monotonic();
    return () => {
      signIn.waitedMs += this.#monotonic() - asked;
    };
  }

  /** Right after the directory refused the password of a real entry (result 49) in the sign-in `signIn`. */
  async wrongPassword(signIn: SignInTime): Promise<void> {
    this.#refusals.add(this.#worked(signIn));
    await this.#holdUntilPace(signIn);
  }

  /** Right after the bind of an unknown login's sign-in. */
  async unknownLogin(signIn: SignInTime): Promise<void> {
    await this.#holdUntilPace(signIn);
  }

  /** How long the sign-in has taken but for its waits for a connection. */
  #worked(signIn: SignInTime): number {
    return this.#monotonic() - signIn.startedAt - signIn.waitedMs;
  }

  async #holdUntilPace(signIn: SignInTime): Promise<void> {
    const pace = this.#refusals.quantile(PACE_QUANTILE);
    if (pace === undefined) return;
    const wait = pace - this.#worked(signIn);
    if (wait > 0) await this.#pause(wait);
  }
}
