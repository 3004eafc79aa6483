import { setTimeout as sleep } from 'node:timers/promises';

/** How many recent wrong-password binds an unknown login's refusal is paced by. */
const KEPT = 32;

/** The latest KEPT durations, and their median. */
class RecentDurations {
  readonly #kept: number[] = [];
  #next = 0;

  add(ms: number): void {
    if (this.#kept.length < KEPT) this.#kept.push(ms);
    else this.#kept[this.#next] = ms;
    this.#next = (this.#next + 1) % KEPT;
  }

  /** undefined: none kept yet. */
  median(): number | undefined {
    if (this.#kept.length === 0) return undefined;
    const sorted = [...this.#kept].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
  }
}

/**
 * Makes an unknown login's bind take as long as a wrong password's. The directory does more for a
 * wrong password on an entry than for a bind as a DN that does not exist: slapd's ppolicy commits
 * pwdFailureTime to its database, Active Directory counts badPwdCount and asks the PDC emulator. On
 * slapd with ppolicy a wrong password took about 4 ms and an unknown login's bind 1.5 ms, which told
 * which logins exist although both cost the same operations.
 *
 * So an unknown login's refusal is held back until the median of the directory's recent refusals of
 * wrong passwords (result 49) has passed since its bind was sent. Not one refusal's duration picked at
 * random: every unknown login then lasted as long as the slower of two binds, longer than a wrong
 * password wherever both cost the directory the same (slapd without ppolicy: medians 1.8 against
 * 1.1 ms), and as long as each rare slow refusal. The median lets a few slow refusals (a busy moment)
 * shift nothing, and depends on no unknown login's time, which anyone can make slow by sending many.
 */
export class RefusalPace {
  readonly #refusals = new RecentDurations();
  readonly #monotonic: () => number;
  readonly #pause: (ms: number) => Promise<void>;

  /** `monotonic` and `pause`: a clock for bind durations and a wait (tests give their own). */
  constructor(deps: { monotonic?: () => number; pause?: (ms: number) => Promise<void> } = {}) {
    this.#monotonic = deps.monotonic ?? (() => performance.now());
    this.#pause = deps.pause ?? ((ms) => sleep(ms));
  }

  /** When a bind is sent on its connection (connecting is not the directory's judgement), for `refused` and `paceUnknown`. */
  start(): number {
    return this.#monotonic();
  }

  /** A bind on a real entry that the directory refused (result 49), started at `startedAt`. */
  refused(startedAt: number): void {
    this.#refusals.add(this.#monotonic() - startedAt);
  }

  /** Right after an unknown login's bind, started at `startedAt`: waits out the rest of the refusals' median. */
  async paceUnknown(startedAt: number): Promise<void> {
    const refusal = this.#refusals.median();
    if (refusal === undefined) return;
    // In whole milliseconds: a timer set for less than one fires after one at the earliest, which
    // made a bind a fraction of a millisecond short of the median a whole one slower.
    const wait = Math.round(refusal - (this.#monotonic() - startedAt));
    if (wait > 0) await this.#pause(wait);
  }
}
