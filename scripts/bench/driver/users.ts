/**
 * Picks the next bench user and claims a TOTP time step for them. The IdP accepts each code once and
 * only steps T-1..T+1 (30 s skew), so steps are handed out strictly increasing per user, across all
 * workers, through shared memory; with 10,000 users that sustains ~333 TOTP sign-ins/s plus a bank
 * of ~2 extra steps per user for bursts.
 */
import { base32Decode, benchSecret, hotp, timeStep } from './totp.ts';
import { BenchError } from './http.ts';

const PERIOD_MS = 30_000;
/** Step T-1 is used only this early in step T, so it is still valid when the IdP checks it. */
const PREVIOUS_STEP_MARGIN_MS = 20_000;

export class UserPicker {
  readonly #steps: Int32Array;
  readonly #cursor: Int32Array;
  readonly #users: number;
  readonly #seed: string;
  readonly #keys = new Map<number, Buffer>();

  constructor(options: { stepBuffer: SharedArrayBuffer; cursorBuffer: SharedArrayBuffer; users: number; totpSeed: string }) {
    this.#steps = new Int32Array(options.stepBuffer);
    this.#cursor = new Int32Array(options.cursorBuffer);
    this.#users = options.users;
    this.#seed = options.totpSeed;
  }

  /** The next user in round-robin order (no TOTP needed). */
  next(): number {
    return (Atomics.add(this.#cursor, 0, 1) >>> 0) % this.#users;
  }

  /** A user with an unused acceptable time step, and that step claimed for them. */
  withTotpStep(): { user: number; step: number } {
    for (let tries = 0; tries < this.#users; tries++) {
      const user = this.next();
      const step = this.claimStep(user);
      if (step !== undefined) return { user, step };
    }
    throw new BenchError('totp', 'every user used all acceptable TOTP steps: more users are needed for this rate');
  }

  /** `user` with an unused acceptable time step, claimed. */
  withTotpStepFor(user: number): { user: number; step: number } {
    const step = this.claimStep(user);
    if (step === undefined) throw new BenchError('totp', `user${user} used all acceptable TOTP steps`);
    return { user, step };
  }

  /** The earliest time step `user` has not used that the IdP accepts now, claimed; undefined when none is left. */
  claimStep(user: number): number | undefined {
    for (;;) {
      const now = Date.now();
      const current = timeStep(now);
      const earliest = now % PERIOD_MS < PREVIOUS_STEP_MARGIN_MS ? current - 1 : current;
      const last = Atomics.load(this.#steps, user);
      const step = Math.max(earliest, last + 1);
      if (step > current + 1) return undefined;
      if (Atomics.compareExchange(this.#steps, user, last, step) === last) return step;
    }
  }

  code(user: number, step: number): string {
    let key = this.#keys.get(user);
    if (!key) {
      key = base32Decode(benchSecret(this.#seed, user));
      this.#keys.set(user, key);
    }
    return hotp(key, step);
  }
}
