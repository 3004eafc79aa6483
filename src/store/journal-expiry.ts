import type { Clock } from '../core/clock.ts';
import type { Entry } from './journal-lines.ts';

/** Entries the expiry sweep visits between two turns of the event loop. */
const SWEEP_SLICE = 10_000;

export function expired(entry: Entry, now: number): boolean {
  return entry.expiresAt !== undefined && entry.expiresAt <= now;
}

/**
 * Drops expired entries (reads skip them anyway; this returns their memory), a slice at a time:
 * one pass over 300k entries blocks the event loop for 20–35 ms here.
 */
export async function sweepExpired(namespaces: Map<string, Map<string, Entry>>, clock: Clock): Promise<void> {
  let now = clock.now();
  let visited = 0;
  for (const [namespace, entries] of namespaces) {
    for (const [key, entry] of entries) {
      if (expired(entry, now)) entries.delete(key);
      if (++visited % SWEEP_SLICE === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        now = clock.now();
      }
    }
    // Between slices the namespace may have been emptied and created anew: drop only this map.
    if (entries.size === 0 && namespaces.get(namespace) === entries) namespaces.delete(namespace);
  }
}
