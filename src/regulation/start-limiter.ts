import { BoundedMap } from '../core/bounded-map.ts';
import type { Clock } from '../core/clock.ts';
import { clientNetwork } from './client-network.ts';

/** Clients (IPv4 addresses, IPv6 /64s) remembered at once; beyond it the least recently seen are forgotten (they start with a full bucket again). */
const REMEMBERED_IPS = 100_000;

/**
 * How many sign-ins a client IP (IPv6: its /64, see clientNetwork) may start: a bucket of
 * `perMinute` that refills at that rate. Each start keeps a sign-in transaction in memory for its 15
 * minutes whether or not anyone goes on with it; without a bound one client could fill the server's
 * memory with abandoned ones (210,000 in 50 s added 140 MB). A real browser, or an office behind one
 * address, starts far fewer.
 */
export class StartLimiter {
  readonly #perMinute: number;
  readonly #clock: Clock;
  readonly #buckets = new BoundedMap<string, { tokens: number; at: number }>(REMEMBERED_IPS);

  constructor(perMinute: number, clock: Clock) {
    this.#perMinute = perMinute;
    this.#clock = clock;
  }

  /** Takes one start for `ip`; false when its bucket is empty. */
  take(ip: string): boolean {
    const now = this.#clock.now();
    const client = clientNetwork(ip);
    const bucket = this.#buckets.get(client);
    // A clock set back (NTP) refills nothing; it must not drain the bucket for as long as it went back.
    const elapsed = bucket ? Math.max(0, now - bucket.at) : 0;
    const tokens = bucket ? Math.min(this.#perMinute, bucket.tokens + (elapsed * this.#perMinute) / 60_000) : this.#perMinute;
    const allowed = tokens >= 1;
    this.#buckets.set(client, { tokens: allowed ? tokens - 1 : tokens, at: now });
    return allowed;
  }
}
