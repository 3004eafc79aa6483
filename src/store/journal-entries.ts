import type { Clock } from '../core/clock.ts';
import type { Entry } from './journal-lines.ts';
import { sweepExpired } from './journal-expiry.ts';

/**
 * The key-value store's entries, held in memory by namespace. Reads never return an expired entry:
 * they drop it when they find it, and the expiry sweep drops the ones nobody reads.
 */
export class JournalEntries {
  readonly #namespaces = new Map<string, Map<string, Entry>>();
  readonly #clock: Clock;
  #sweeping = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** The entry held for the key, expired or not. */
  held(namespace: string, key: string): Entry | undefined {
    return this.#namespaces.get(namespace)?.get(key);
  }

  live(namespace: string, key: string): Entry | undefined {
    const entry = this.#namespaces.get(namespace)?.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.#clock.now()) {
      this.remove(namespace, key);
      return undefined;
    }
    return entry;
  }

  set(namespace: string, key: string, entry: Entry): void {
    let entries = this.#namespaces.get(namespace);
    if (!entries) {
      entries = new Map();
      this.#namespaces.set(namespace, entries);
    }
    entries.set(key, entry);
  }

  /**
   * Removes an entry, and its namespace once empty: some namespaces are per grant (the OIDC adapter's
   * token indexes), and a map left behind for every grant that ever existed would grow without end.
   */
  remove(namespace: string, key: string): Entry | undefined {
    const entries = this.#namespaces.get(namespace);
    const entry = entries?.get(key);
    if (!entries || !entry) return undefined;
    entries.delete(key);
    if (entries.size === 0) this.#namespaces.delete(namespace);
    return entry;
  }

  /** The namespace's keys, copied: reading their entries may remove expired ones. */
  keys(namespace: string): string[] {
    return [...(this.#namespaces.get(namespace)?.keys() ?? [])];
  }

  /** Every entry held, expired or not, read as the maps stand when each is reached (a compaction reads them between its writes). */
  *all(): Generator<[namespace: string, key: string, entry: Entry]> {
    for (const [namespace, entries] of this.#namespaces) {
      for (const [key, entry] of entries) yield [namespace, key, entry];
    }
  }

  /** Namespaces held in memory (diagnostics: an emptied namespace must not stay behind). */
  get namespaceCount(): number {
    return this.#namespaces.size;
  }

  /** Drops the expired entries; a sweep still under way (it yields to the event loop) is not started twice. */
  async sweep(): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      await sweepExpired(this.#namespaces, this.#clock);
    } finally {
      this.#sweeping = false;
    }
  }
}
