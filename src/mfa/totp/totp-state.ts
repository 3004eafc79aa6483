import type { KeyValue } from '../../store/store.ts';
import { updateWithRetry } from '../../store/update-with-retry.ts';

const NAMESPACE = 'mfa-totp-state';
const MAX_CAS_ATTEMPTS = 50;

/**
 * Per-user hot state of the second factor, one kv entry so that the lock check, the replay check and
 * the counters change together in one compare-and-set.
 */
export interface TotpState {
  /** Last accepted RFC 6238 time step: a code of this step or an earlier one is a replay. */
  lastStep?: number;
  /** Wrong codes since the last success or unlock. */
  failures: number;
  /** When the lock started (epoch ms); absent when not locked. */
  lockedAt?: number;
  lastAttempt?: { at: number; ip: string; ok: boolean };
  lastSuccess?: { at: number; ip: string };
}

export interface LockoutSettings {
  maxFailures: number;
  /** null: the lock lasts until an administrator lifts it. */
  autoUnlockMinutes: number | null;
}

export const EMPTY_STATE: TotpState = { failures: 0 };

/** When a lock lifts: epoch ms, null for "only by an administrator", undefined when not locked at `now`. */
export function lockedUntil(state: TotpState, now: number, settings: LockoutSettings): number | null | undefined {
  if (state.lockedAt === undefined) return undefined;
  if (settings.autoUnlockMinutes === null) return null;
  const until = state.lockedAt + settings.autoUnlockMinutes * 60_000;
  return until > now ? until : undefined;
}

/** A lock that ran out is cleared before the next attempt counts, so the user starts again from zero. */
function current(state: TotpState, now: number, settings: LockoutSettings): TotpState {
  return state.lockedAt !== undefined && lockedUntil(state, now, settings) === undefined ? { ...state, failures: 0, lockedAt: undefined } : state;
}

export function afterFailure(state: TotpState, now: number, ip: string, settings: LockoutSettings): TotpState {
  const live = current(state, now, settings);
  const failures = live.failures + 1;
  return { ...live, failures, lastAttempt: { at: now, ip, ok: false }, ...(failures >= settings.maxFailures ? { lockedAt: now } : {}) };
}

export function afterSuccess(state: TotpState, now: number, ip: string, step?: number): TotpState {
  return { ...state, failures: 0, lockedAt: undefined, lastAttempt: { at: now, ip, ok: true }, lastSuccess: { at: now, ip }, ...(step !== undefined ? { lastStep: step } : {}) };
}

export class TotpStateStore {
  readonly #kv: KeyValue;

  constructor(kv: KeyValue) {
    this.#kv = kv;
  }

  async read(userId: string): Promise<TotpState> {
    return (await this.#kv.get<TotpState>(NAMESPACE, userId)) ?? EMPTY_STATE;
  }

  /**
   * Reads, computes and writes back atomically; on a concurrent change it starts over with the new
   * value, so two requests can never both act on the same state (e.g. both accept one code).
   */
  async update<R>(userId: string, change: (state: TotpState) => { next?: TotpState; result: R }): Promise<R> {
    return updateWithRetry<TotpState, R>(this.#kv, NAMESPACE, userId, (stored) => change(stored ?? EMPTY_STATE), MAX_CAS_ATTEMPTS);
  }

  async delete(userId: string): Promise<void> {
    await this.#kv.delete(NAMESPACE, userId);
  }

  /** Lifts a lock and clears the failure count (administrator action). */
  async unlock(userId: string): Promise<void> {
    await this.update(userId, (state) => ({ next: { ...state, failures: 0, lockedAt: undefined }, result: undefined }));
  }
}
