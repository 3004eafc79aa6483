import type { KeyValue, SetOptions } from './store.ts';

/**
 * A kv entry that other writers changed every time this one tried to change it. The key is not
 * named: some keys are secrets (a session id is its cookie's value).
 */
export class ConcurrentUpdateError extends Error {
  readonly namespace: string;
  readonly attempts: number;

  constructor(namespace: string, attempts: number) {
    super(`${namespace}: ${attempts} concurrent changes in a row, giving up`);
    this.name = 'ConcurrentUpdateError';
    this.namespace = namespace;
    this.attempts = attempts;
  }
}

/** What a change makes of the stored value: `next` is written (with `options`); without it nothing is. `result` is returned either way. */
export interface KvChange<T, R> {
  next?: T;
  options?: SetOptions;
  result: R;
}

/**
 * Reads an entry, computes its change and writes it back only if nobody wrote it meanwhile
 * (compareAndSet); when someone did, starts over from the new value, at most `attempts` times.
 * `change` gets undefined for an absent entry and may run several times.
 */
export async function updateWithRetry<T, R>(kv: KeyValue, namespace: string, key: string, change: (current: T | undefined) => KvChange<T, R>, attempts: number): Promise<R> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const current: T | undefined = await kv.get<T>(namespace, key);
    const { next, options, result } = change(current);
    if (next === undefined || (await kv.compareAndSet<T>(namespace, key, current, next, options))) return result;
  }
  throw new ConcurrentUpdateError(namespace, attempts);
}
