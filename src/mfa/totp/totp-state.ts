import type { KeyValue } from '../../store/store.ts';
import { updateWithRetry } from '../../store/update-with-retry.ts';

const NAMESPACE = 'mfa-totp-state';
const MAX_CAS_ATTEMPTS = 50;
/**
 * Locks in a row (no right code, no administrator unlock between them) after which the next one
 * lasts until an administrator lifts it: at most 10 × maxFailures (≤ 100) wrong codes are ever
 * checked for one user, as NIST SP 800-63B 5.2.2 requires; a lock that lifts by itself does not
 * start the count again, or whoever has the password could guess codes forever.
 */
const LOCKS_BEFORE_ADMIN_UNLOCK = 10;
/** Each lock lasts twice as long as the one before, up to this (or autoUnlockMinutes, if longer). */
const LONGEST_AUTO_LOCK_MINUTES = 24 * 60;

/**
 * Per-user hot state of the second factor, one kv entry so that the lock check, the replay check and
 * the counters change together in one compare-and-set.
 */
export interface TotpState {
  /** Last accepted RFC 6238 time step: a code of this step or an earlier one is a replay. */
  lastStep?: number;
  /** Wrong codes in a row: since the last right code or administrator unlock, through locks that lifted by themselves. */
  failures: number;
  /** When the latest lock started (epoch ms); absent when none has since the last right code or unlock. */
  lockedAt?: number;
  /** Locks in a row, counted as `failures` are; absent in states of older versions (then 1 with a lock). */
  locks?: number;
  lastAttempt?: { at: number; ip: string; ok: boolean };
  lastSuccess?: { at: number; ip: string };
}

export interface LockoutSettings {
  maxFailures: number;
  /** null: the lock lasts until an administrator lifts it. */
  autoUnlockMinutes: number | null;
}

const EMPTY_STATE: TotpState = { failures: 0 };

function locksInARow(state: TotpState): number {
  return state.locks ?? (state.lockedAt === undefined ? 0 : 1);
}

/**
 * How long the `lock`th lock in a row lasts (ms): autoUnlockMinutes, then twice as long each time,
 * up to a day; null from the LOCKS_BEFORE_ADMIN_UNLOCK-th on, or when no lock lifts by itself.
 */
function lockLength(lock: number, settings: LockoutSettings): number | null {
  if (settings.autoUnlockMinutes === null || lock >= LOCKS_BEFORE_ADMIN_UNLOCK) return null;
  const longest = Math.max(settings.autoUnlockMinutes, LONGEST_AUTO_LOCK_MINUTES);
  return Math.min(settings.autoUnlockMinutes * 2 ** (lock - 1), longest) * 60_000;
}

/** When a lock lifts: epoch ms, null for "only by an administrator", undefined when not locked at `now`. */
export function lockedUntil(state: TotpState, now: number, settings: LockoutSettings): number | null | undefined {
  if (state.lockedAt === undefined) return undefined;
  const length = lockLength(locksInARow(state), settings);
  if (length === null) return null;
  const until = state.lockedAt + length;
  return until > now ? until : undefined;
}

/** The next lock starts at every maxFailures-th wrong code in a row; one that lifted by itself keeps the count. */
export function afterFailure(state: TotpState, now: number, ip: string, settings: LockoutSettings): TotpState {
  const failures = state.failures + 1;
  const locks = locksInARow(state);
  const next: TotpState = { ...state, failures, lastAttempt: { at: now, ip, ok: false } };
  return failures >= (locks + 1) * settings.maxFailures ? { ...next, lockedAt: now, locks: locks + 1 } : next;
}

export function afterSuccess(state: TotpState, now: number, ip: string, step?: number): TotpState {
  return { ...state, failures: 0, lockedAt: undefined, locks: undefined, lastAttempt: { at: now, ip, ok: true }, lastSuccess: { at: now, ip }, ...(step !== undefined ? { lastStep: step } : {}) };
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

  /**
   * Forgets the last accepted time step, for a registration that replaces another: the marker counts
   * the old registration's steps, which with another period are not the new one's (a shorter old
   * period would make every new code look replayed for years).
   */
  async forgetLastStep(userId: string): Promise<void> {
    await this.update(userId, ({ lastStep, ...state }) => (lastStep === undefined ? { result: undefined } : { next: state, result: undefined }));
  }

  /** Lifts a lock and clears the counts of wrong codes and locks in a row (administrator action). */
  async unlock(userId: string): Promise<void> {
    // `mfa unlock` writes the whole state, and the server takes the CLI's line as newer than its own
    // writes: read the server's latest lines first, or the step of a code the server accepted while
    // the command ran goes back, and that code could be used again. (The server does not read before
    // each code check: that would put a file read, and a wait for any compaction, on every sign-in.)
    await this.#kv.catchUp?.();
    await this.update(userId, (state) => ({ next: { ...state, failures: 0, lockedAt: undefined, locks: undefined }, result: undefined }));
  }
}
