import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** How many recent wrong-password binds an unknown login's refusal is paced by. */
const KEPT = 32;

/**
 * Makes an unknown login's bind take as long as a wrong password's. The directory does more for a
 * wrong password on an entry than for a bind as a DN that does not exist: slapd's ppolicy commits
 * pwdFailureTime to its database, Active Directory counts badPwdCount and asks the PDC emulator. On
 * slapd with ppolicy a wrong password took about 4 ms and an unknown login's bind 1.5 ms, which told
 * which logins exist although both cost the same operations. So the durations of recent binds the
 * directory refused (result 49) are kept, and an unknown login's refusal waits until one of them,
 * picked at random so that both spread alike, has passed since its bind started.
 */
export class RefusalPace {
  readonly #recent: number[] = [];
  #next = 0;
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
    const ms = this.#monotonic() - startedAt;
    if (this.#recent.length < KEPT) this.#recent.push(ms);
    else this.#recent[this.#next] = ms;
    this.#next = (this.#next + 1) % KEPT;
  }

  /** After an unknown login's bind, started at `startedAt`: waits out the rest of a recent refusal's duration. */
  async paceUnknown(startedAt: number): Promise<void> {
    if (this.#recent.length === 0) return;
    const rest = this.#recent[randomInt(this.#recent.length)]! - (this.#monotonic() - startedAt);
    if (rest > 0) await this.#pause(rest);
  }
}
