import type { AuditEvent, AuditLog, AuditQuery, AuditQueryResult } from './store.ts';
import type { Clock } from '../core/clock.ts';

/**
 * Failure events written per client IP and window. A person or a misconfigured client stays far
 * below two a second; a client flooding refused requests without credentials (bad tokens, unknown
 * SAML issuers, guessed passwords) wrote ~1–2 GB of audit log an hour, and is still visible here.
 */
export const AUDIT_FAILURES_PER_IP = 120;
/**
 * Failure events written per window from all client IPs together, per-IP summaries included. A flood
 * from many addresses passes every per-IP cap (200 addresses wrote ~1.5 GB an hour); this keeps the
 * log at ~1 MB a minute (events are ~350 bytes) however many send, and still writes in full 25 clients
 * at their per-IP cap, or a failed sign-in every 20 ms from users.
 */
export const AUDIT_FAILURES_ALL_CLIENTS = 3_000;
/**
 * Bytes of those events written per window from all client IPs together. A typed name is kept as
 * typed, up to 256 characters, and a control character takes six bytes in JSON: such events are
 * 1.75 KB, and 3,000 of them were 5.3 MB a minute. Ordinary events (~350 bytes) meet the count first.
 */
export const AUDIT_BYTES_ALL_CLIENTS = 1_500_000;
/**
 * Events other than failures that a client without credentials can cause as often as it likes, each
 * saying that nothing happened: a sign-in started and cancelled (`login.cancel`, 20 addresses wrote
 * 9 MB of them a minute), and a revocation of a token that does not exist (`oidc.revoke`
 * `token-unknown`: a public client's client_id is no secret, and one address wrote 28 MB of them a
 * minute). Capped and counted as failures are.
 */
function cappedAsFailure(event: AuditEvent): boolean {
  return event.outcome === 'failure' || event.type === 'login.cancel' || (event.type === 'oidc.revoke' && event.reason === 'token-unknown');
}
/** What the file adds to an event's JSON: `"at":"2026-11-22T10:00:00.000Z",` and the line end. */
const LINE_OVERHEAD_BYTES = 33;
/** The fixed window the limits above count in, from the first failure in it (of the IP, or of all). */
export const AUDIT_THROTTLE_WINDOW_MS = 60_000;
/** IPs tracked at once (a few MB at most); failures from further IPs share one overflow bucket. */
const AUDIT_THROTTLE_MAX_IPS = 10_000;
/** How often windows that ended are looked for, so an IP that went quiet still gets its summary. */
const FLUSH_EVERY_MS = 10_000;

interface Bucket {
  start: number;
  end: number;
  /** Events that were within this bucket's limit (for an IP: passed on to the limit of all clients). */
  allowed: number;
  /** Their size as written (counted for the window of all clients only). */
  bytes: number;
  suppressed: number;
  /** Suppressed events by type; only made once one is suppressed. */
  types?: Map<string, number>;
}

/** Who a summary is about: one IP, the IPs beyond the ones tracked, or all clients. */
type SummaryScope = { ip: string } | { overflow: true } | { global: true };

/** The log the throttle wraps: an AuditLog that also opens, closes and reopens its file. */
export interface ThrottledInner extends AuditLog {
  open(): Promise<void>;
  close(): Promise<void>;
  reopen(): Promise<void>;
}

/**
 * An AuditLog that writes at most AUDIT_FAILURES_PER_IP failure events (with an `ip`: outcome
 * `failure`, and the others cappedAsFailure names) per IP and window, and at most
 * AUDIT_FAILURES_ALL_CLIENTS (and AUDIT_BYTES_ALL_CLIENTS) of those and of the per-IP
 * summaries from all IPs together per window. The rest are counted and summed up in one
 * `audit.suppressed` event when the window ends (on the IP's next failure, by a timer, or at close):
 * an event beyond its IP's limit in that IP's summary, any other one (a per-IP summary with all its
 * counts) in the summary of all clients, written last, so every event is counted exactly once.
 * Other successes and `info` events, events without an IP (the CLI) and the failures that started a lock
 * (`lockStarted`: few, since a lock takes several failures, and the one an investigation looks for)
 * are always written.
 */
export class ThrottledAuditLog implements AuditLog {
  readonly #inner: ThrottledInner;
  readonly #clock: Clock;
  readonly #limit: number;
  readonly #totalLimit: number;
  readonly #totalBytes: number;
  readonly #maxIps: number;
  readonly #clientOf: (ip: string) => string;
  /** By client (see `clientOf`). */
  readonly #buckets = new Map<string, Bucket>();
  /** Failures from IPs beyond #maxIps, together. */
  #overflow: Bucket | undefined;
  /** Failures (and per-IP summaries) from all IPs, against #totalLimit. */
  #total: Bucket | undefined;
  #timer: NodeJS.Timeout | undefined;

  /**
   * `clientOf`: the client an address belongs to, whose failures share one cap (the regulator's
   * clientNetwork: an IPv6 /64 is one client, which may pick any address in it).
   */
  constructor(inner: ThrottledInner, clock: Clock, options: { limit?: number; totalLimit?: number; totalBytes?: number; maxIps?: number; clientOf?: (ip: string) => string } = {}) {
    this.#inner = inner;
    this.#clock = clock;
    this.#clientOf = options.clientOf ?? ((ip) => ip);
    this.#limit = options.limit ?? AUDIT_FAILURES_PER_IP;
    this.#totalLimit = options.totalLimit ?? AUDIT_FAILURES_ALL_CLIENTS;
    this.#totalBytes = options.totalBytes ?? AUDIT_BYTES_ALL_CLIENTS;
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
    if (!cappedAsFailure(event) || typeof event.ip !== 'string' || event.ip === '' || event.lockStarted !== undefined) return this.#inner.record(event);
    const ip = this.#clientOf(event.ip);
    const now = this.#clock.now();
    let bucket = this.#buckets.get(ip);
    const overflow = !bucket && this.#buckets.size >= this.#maxIps;
    if (overflow) bucket = this.#overflow;
    const writes: Array<Promise<void>> = [];
    if (bucket && bucket.end <= now) {
      if (overflow) this.#overflow = undefined;
      else this.#buckets.delete(ip);
      const summary = this.#summarize(overflow ? { overflow: true } : { ip }, bucket, now);
      if (summary) writes.push(summary);
      bucket = undefined;
    }
    if (!bucket) {
      bucket = this.#newBucket(now);
      if (overflow) this.#overflow = bucket;
      else this.#buckets.set(ip, bucket);
    }
    if (bucket.allowed < this.#limit) {
      bucket.allowed += 1;
      writes.push(this.#recordWithinTotal(now, event));
    } else {
      countSuppressed(bucket, event.type, 1);
    }
    if (writes.length <= 1) return writes[0] ?? Promise.resolve();
    return Promise.all(writes).then(() => undefined);
  }

  async #flush(due: (bucket: Bucket) => boolean): Promise<void> {
    const now = this.#clock.now();
    const writes: Array<Promise<void> | undefined> = [];
    for (const [ip, bucket] of this.#buckets) {
      if (!due(bucket)) continue;
      this.#buckets.delete(ip);
      writes.push(this.#summarize({ ip }, bucket, now));
    }
    if (this.#overflow && due(this.#overflow)) {
      writes.push(this.#summarize({ overflow: true }, this.#overflow, now));
      this.#overflow = undefined;
    }
    // After the per-IP summaries: the ones that did not fit are counted in this one.
    if (this.#total && due(this.#total)) {
      writes.push(this.#summarize({ global: true }, this.#total, now));
      this.#total = undefined;
    }
    await Promise.all(writes);
  }

  /**
   * Writes `event` if the window of all clients has room, else counts it in that window: the event
   * itself, or for a per-IP summary (`summarized`) all that summary counts.
   */
  #recordWithinTotal(now: number, event: AuditEvent, summarized?: Bucket): Promise<void> {
    let ended: Promise<void> | undefined;
    if (this.#total && this.#total.end <= now) {
      ended = this.#summarize({ global: true }, this.#total, now);
      this.#total = undefined;
    }
    const total = (this.#total ??= this.#newBucket(now));
    let written: Promise<void> | undefined;
    const bytes = Buffer.byteLength(JSON.stringify(event)) + LINE_OVERHEAD_BYTES;
    if (total.allowed < this.#totalLimit && total.bytes + bytes <= this.#totalBytes) {
      total.allowed += 1;
      total.bytes += bytes;
      written = this.#inner.record(event);
    } else if (summarized) {
      for (const [type, count] of summarized.types ?? []) countSuppressed(total, type, count);
      total.start = Math.min(total.start, summarized.start);
    } else {
      countSuppressed(total, event.type, 1);
    }
    if (ended && written) return Promise.all([ended, written]).then(() => undefined);
    return ended ?? written ?? Promise.resolve();
  }

  /**
   * The `audit.suppressed` event of a window, written (a per-IP one within the limit of all clients);
   * undefined when it suppressed nothing.
   */
  #summarize(scope: SummaryScope, bucket: Bucket, now: number): Promise<void> | undefined {
    if (bucket.suppressed === 0) return undefined;
    const summary: AuditEvent = {
      type: 'audit.suppressed',
      outcome: 'info',
      ...scope,
      reason: 'too-many-failures',
      suppressed: bucket.suppressed,
      types: Object.fromEntries(bucket.types ?? []),
      windowStart: new Date(bucket.start).toISOString(),
      windowEnd: new Date(Math.min(bucket.end, now)).toISOString(),
    };
    return 'global' in scope ? this.#inner.record(summary) : this.#recordWithinTotal(now, summary, bucket);
  }

  #newBucket(now: number): Bucket {
    return { start: now, end: now + AUDIT_THROTTLE_WINDOW_MS, allowed: 0, bytes: 0, suppressed: 0 };
  }
}

function countSuppressed(bucket: Bucket, type: string, count: number): void {
  bucket.suppressed += count;
  bucket.types ??= new Map();
  bucket.types.set(type, (bucket.types.get(type) ?? 0) + count);
}
