import type { KeyValue } from '../store/store.ts';
import type { Clock } from '../core/clock.ts';

const NAMESPACE = 'regulation';

export interface RegulationSettings {
  maxFailuresPerUser: number;
  maxFailuresPerIp: number;
  windowSeconds: number;
  lockoutSeconds: number;
}

interface Counter {
  failures: number[];
  lockedUntil?: number;
}

export type RegulationVerdict = { allowed: true } | { allowed: false; until: number; scope: 'user' | 'ip' };

/**
 * Counts failed attempts per username and per client IP and bans temporarily. Counters exist for
 * usernames that do not exist too, so a ban reveals nothing about which accounts exist.
 */
export class Regulator {
  readonly #kv: KeyValue;
  readonly #settings: RegulationSettings;
  readonly #clock: Clock;

  constructor(kv: KeyValue, settings: RegulationSettings, clock: Clock) {
    this.#kv = kv;
    this.#settings = settings;
    this.#clock = clock;
  }

  async check(username: string, ip: string): Promise<RegulationVerdict> {
    const now = this.#clock.now();
    for (const [scope, key] of [['user', userKey(username)], ['ip', ipKey(ip)]] as const) {
      const counter = await this.#kv.get<Counter>(NAMESPACE, key);
      if (counter?.lockedUntil && counter.lockedUntil > now) return { allowed: false, until: counter.lockedUntil, scope };
    }
    return { allowed: true };
  }

  async recordFailure(username: string, ip: string): Promise<void> {
    await this.#bump(userKey(username), this.#settings.maxFailuresPerUser);
    await this.#bump(ipKey(ip), this.#settings.maxFailuresPerIp);
  }

  /** A successful sign-in clears the user's counter; the IP counter keeps counting other usernames. */
  async recordSuccess(username: string): Promise<void> {
    await this.#kv.delete(NAMESPACE, userKey(username));
  }

  /** Admin unlock. */
  async unlock(username: string): Promise<void> {
    await this.#kv.delete(NAMESPACE, userKey(username));
  }

  async #bump(key: string, max: number): Promise<void> {
    const now = this.#clock.now();
    const windowStart = now - this.#settings.windowSeconds * 1000;
    // Retry on contention: concurrent failures for one user must all be counted.
    for (let attempt = 0; attempt < 8; attempt++) {
      const current = await this.#kv.get<Counter>(NAMESPACE, key);
      const failures = [...(current?.failures ?? []).filter((at) => at > windowStart), now];
      const next: Counter = { failures };
      if (failures.length >= max) next.lockedUntil = now + this.#settings.lockoutSeconds * 1000;
      else if (current?.lockedUntil && current.lockedUntil > now) next.lockedUntil = current.lockedUntil;
      const ttlSeconds = this.#settings.windowSeconds + this.#settings.lockoutSeconds;
      if (await this.#kv.compareAndSet(NAMESPACE, key, current, next, { ttlSeconds })) return;
    }
  }
}

/** Buckets DOMAIN\\alice, alice@corp and ALICE together so spelling variants cannot dodge the counter. */
function userKey(username: string): string {
  return `u:${username.trim().toLowerCase().replace(/^[^\\]*\\/, '').replace(/@.*$/, '')}`;
}

function ipKey(ip: string): string {
  return `ip:${ip}`;
}
