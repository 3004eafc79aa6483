import type { AuditEvent, AuditLog, AuditQuery, AuditQueryResult } from './store.ts';
import type { Clock } from '../core/clock.ts';

/**
 * Failure events written per client IP and window. A person or a misconfigured client stays far
 * below two a second; a client flooding refused requests without credentials (bad tokens, unknown
 * SAML issuers, guessed passwords) wrote ~1–2 GB of audit log an hour, and is still visible here.
 */
export const AUDIT_FAILURES_PER_IP = 120;
/** The fixed window the limit above counts in, from an IP's first failure in it. */
export const AUDIT_THROTTLE_WINDOW_MS = 60_000;
/** IPs tracked at once (a few MB at most); failures from further IPs share one overflow bucket. */
export const AUDIT_THROTTLE_MAX_IPS = 10_000;
/** How often windows that ended are looked for, so an IP that went quiet still gets its summary. */
const FLUSH_EVERY_MS = 10_000;

interface Bucket {
  start: number;
  end: number;
  written: number;
  suppressed: number;
  /** Suppressed events by type; only made once one is suppressed. */
  types?: Map<string, number>;
}

/** The log the throttle wraps: an AuditLog that also opens, closes and reopens its file. */
export interface ThrottledInner extends AuditLog {
  open(): Promise<void>;
  close(): Promise<void>;
  reopen(): Promise<void>;
}

/**
 * An AuditLog that writes at most AUDIT_FAILURES_PER_IP failure events (outcome `failure` with an
 * `ip`) per IP and window; the rest are counted and summed up in one `audit.suppressed` event when
 * the window ends (on the IP's next failure, by a timer, or at close). Successes, `info` events,
 * events without an IP (the CLI) and the failures that started a lock (`lockStarted`: few, since a
 * lock takes several failures, and the one an investigation looks for) are always written.
 */
export class ThrottledAuditLog implements AuditLog {
  readonly #inner: ThrottledInner;
  readonly #clock: Clock;
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxIps: number;
  readonly #buckets = new Map<string, Bucket>();
  /** Failures from IPs beyond #maxIps, together. */
  #overflow: Bucket | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(inner: ThrottledInner, clock: Clock, options: { limit?: number; windowMs?: number; maxIps?: number } = {}) {
    this.#inner = inner;
    this.#clock = clock;
    this.#limit = options.limit ?? AUDIT_FAILURES_PER_IP;
    this.#windowMs = options.windowMs ?? AUDIT_THROTTLE_WINDOW_MS;
    this.#maxIps = options.maxIps ?? AUDIT_THROTTLE_MAX_IPS;
  }

  async open(): Promise<void> {
    await this.#inner.open();
    if (this.#timer) return;
    // A summary write that fails here (disk full) fails for every other event too: not the timer's to report.
    this.#timer = setInterval(() => void this.flushEnded().catch(() => undefined), FLUSH_EVERY_MS);
    this.#timer.unref();
  }

  /** Writes the summary of every window not yet summed up (ended or not), then closes the file. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#flush(() => true);
    await this.#inner.close();
  }

  reopen(): Promise<void> {
    return this.#inner.reopen();
  }

  query(filter: AuditQuery): Promise<AuditQueryResult> {
    return this.#inner.query(filter);
  }

  /** Writes the summaries of windows that have ended and forgets them. */
  flushEnded(): Promise<void> {
    const now = this.#clock.now();
    return this.#flush((bucket) => bucket.end <= now);
  }

  record(event: AuditEvent): Promise<void> {
    const ip = event.ip;
    if (event.outcome !== 'failure' || typeof ip !== 'string' || ip === '' || event.lockStarted !== undefined) return this.#inner.record(event);
    const now = this.#clock.now();
    let bucket = this.#buckets.get(ip);
    let overflow = false;
    if (!bucket && this.#buckets.size >= this.#maxIps) {
      overflow = true;
      bucket = this.#overflow;
    }
    let summary: Promise<void> | undefined;
    if (bucket && bucket.end <= now) {
      summary = this.#summarize(overflow ? undefined : ip, bucket);
      if (overflow) this.#overflow = undefined;
      else this.#buckets.delete(ip);
      bucket = undefined;
    }
    if (!bucket) {
      bucket = { start: now, end: now + this.#windowMs, written: 0, suppressed: 0 };
      if (overflow) this.#overflow = bucket;
      else this.#buckets.set(ip, bucket);
    }
    if (bucket.written < this.#limit) {
      bucket.written += 1;
      const written = this.#inner.record(event);
      return summary ? Promise.all([summary, written]).then(() => undefined) : written;
    }
    bucket.suppressed += 1;
    bucket.types ??= new Map();
    bucket.types.set(event.type, (bucket.types.get(event.type) ?? 0) + 1);
    return summary ?? Promise.resolve();
  }

  async #flush(due: (bucket: Bucket) => boolean): Promise<void> {
    const writes: Array<Promise<void>> = [];
    for (const [ip, bucket] of this.#buckets) {
      if (!due(bucket)) continue;
      this.#buckets.delete(ip);
      const summary = this.#summarize(ip, bucket);
      if (summary) writes.push(summary);
    }
    if (this.#overflow && due(this.#overflow)) {
      const summary = this.#summarize(undefined, this.#overflow);
      this.#overflow = undefined;
      if (summary) writes.push(summary);
    }
    await Promise.all(writes);
  }

  /** The `audit.suppressed` event of a window, written; undefined when it suppressed nothing. */
  #summarize(ip: string | undefined, bucket: Bucket): Promise<void> | undefined {
    if (bucket.suppressed === 0) return undefined;
    const end = Math.min(bucket.end, this.#clock.now());
    return this.#inner.record({
      type: 'audit.suppressed',
      outcome: 'info',
      ...(ip === undefined ? { overflow: true } : { ip }),
      reason: 'too-many-failures',
      suppressed: bucket.suppressed,
      types: Object.fromEntries(bucket.types ?? []),
      windowStart: new Date(bucket.start).toISOString(),
      windowEnd: new Date(end).toISOString(),
    });
  }
}
