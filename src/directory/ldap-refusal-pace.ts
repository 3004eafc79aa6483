import { setTimeout as sleep } from 'node:timers/promises';

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
 */
export class RefusalPace {
  readonly #refusals = new RecentDurations();
  readonly #monotonic: () => number;
  readonly #pause: (ms: number) => Promise<void>;

  /** `monotonic` and `pause`: a clock for sign-in durations and a wait (tests give their own). */
  constructor(deps: { monotonic?: () => number; pause?: (ms: number) => Promise<void> } = {}) {
    this.#monotonic = deps.monotonic ?? (() => performance.now());
    this.#pause = deps.pause ?? ((ms) => sleep(ms));
  }

  /** When a sign-in by login starts (before its search), for `wrongPassword` and `unknownLogin`. */
  start(): number {
    return this.#monotonic();
  }

  /** Right after the directory refused the password of a real entry (result 49) in a sign-in started at `startedAt`. */
  async wrongPassword(startedAt: number): Promise<void> {
    this.#refusals.add(this.#monotonic() - startedAt);
    await this.#holdUntilPace(startedAt);
  }

  /** Right after the bind of an unknown login's sign-in, started at `startedAt`. */
  async unknownLogin(startedAt: number): Promise<void> {
    await this.#holdUntilPace(startedAt);
  }

  async #holdUntilPace(startedAt: number): Promise<void> {
    const pace = this.#refusals.quantile(PACE_QUANTILE);
    if (pace === undefined) return;
    // In whole milliseconds: a timer set for less than one fires after one at the earliest, which
    // made a sign-in a fraction of a millisecond short of the pace a whole one slower.
    const wait = Math.round(pace - (this.#monotonic() - startedAt));
    if (wait > 0) await this.#pause(wait);
  }
}
