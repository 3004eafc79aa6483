import type { Logger } from '../core/log.ts';
import { BoundedMap } from '../core/bounded-map.ts';
import type { AppError } from '../core/errors.ts';
import { systemClock, type Clock } from '../core/clock.ts';

/** Warnings of one kind written in full per window; the rest are only counted. */
export const WARNINGS_PER_KIND = 100;
const WARNING_WINDOW_MS = 60_000;

type WarningLog = Pick<Logger, 'warn'>;

interface WarningWindow {
  start: number;
  written: number;
  suppressed: number;
  /** Set at the first warning left out: writes their count when the window ends. */
  summary?: NodeJS.Timeout;
}

/**
 * A budget of warning lines per kind (an error code, a refused request's reason), for all clients
 * together: one address's 48,925 rate-limited requests wrote 14 MB of identical warnings, and
 * connections from 27,000 addresses timing out wrote 8 MB, so a budget per address alone is not
 * enough. The first warnings of each kind in a window are written in full; the rest are counted,
 * and one line with their count is written when the window ends.
 */
export class WarningBudget {
  readonly #perWindow: number;
  readonly #windowMs: number;
  readonly #clock: Clock;
  readonly #windows = new BoundedMap<string, WarningWindow>(1_000);

  /** `clock`: the server's, as the audit throttle's windows are (a test ends a window by moving it on). */
  constructor(options: { perWindow?: number; windowMs?: number; clock?: Clock } = {}) {
    this.#perWindow = options.perWindow ?? WARNINGS_PER_KIND;
    this.#windowMs = options.windowMs ?? WARNING_WINDOW_MS;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Whether this warning is to be written; when not, it is counted, and the `log` of the first one
   * left out (with that request's id, where it has one) writes the count at the window's end.
   */
  admit(kind: string, log: WarningLog): boolean {
    const now = this.#clock.now();
    let window = this.#windows.get(kind);
    if (window && now - window.start >= this.#windowMs) {
      this.#close(kind, window, log);
      window = undefined;
    }
    if (!window) {
      window = { start: now, written: 0, suppressed: 0 };
      this.#windows.set(kind, window);
    }
    if (window.written < this.#perWindow) {
      window.written += 1;
      return true;
    }
    window.suppressed += 1;
    const ending = window;
    window.summary ??= setTimeout(() => this.#close(kind, ending, log), window.start + this.#windowMs - now).unref();
    return false;
  }

  #close(kind: string, window: WarningWindow, log: WarningLog): void {
    clearTimeout(window.summary);
    if (this.#windows.get(kind) === window) this.#windows.delete(kind);
    if (window.suppressed === 0) return;
    const seconds = this.#windowMs / 1000;
    log.warn({ event: 'log.warnings-suppressed', warning: kind, written: window.written, suppressed: window.suppressed, seconds }, `${window.suppressed} more ${kind} warnings in ${seconds} s were not written`);
    window.suppressed = 0;
  }
}

/**
 * The kind an error's warning is thinned under: its code and, when it has one, its reason. Any
 * client can send a flood of one cause (hang-ups on the OIDC endpoints), which must not silence the
 * other causes that share its code (a malformed path, a request timeout).
 */
export function warningKind(appError: AppError): string {
  const reason = appError.detail?.reason;
  return typeof reason === 'string' ? `${appError.code} ${reason}` : appError.code;
}
