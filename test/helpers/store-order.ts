import Provider from 'oidc-provider';
import type { KeyValue, SetOptions } from '../../src/store/store.ts';

/** A read or write of the store, with the oidc-provider route of the request that made it, if any. */
export interface StoreOperation {
  kind: 'get' | 'set';
  namespace: string;
  key: string;
  value?: unknown;
  route?: string;
}

export type StoreMatch = (operation: StoreOperation) => boolean;

/**
 * The order in which concurrent requests reach the store, made the same every run: `hold` makes the
 * first read or write that matches wait until `until` resolves (the promise it returns resolves as it
 * starts waiting), `seen` resolves once a matching one is done. `restore` puts the store back.
 */
export function storeOrder(kv: KeyValue) {
  const { get, set } = kv;
  const holds: Array<{ match: StoreMatch; until: Promise<unknown>; reached: () => void }> = [];
  const sights: Array<{ match: StoreMatch; seen: () => void }> = [];
  const before = async (operation: StoreOperation) => {
    const hold = holds.find(({ match }) => match(operation));
    if (!hold) return;
    holds.splice(holds.indexOf(hold), 1);
    hold.reached();
    await hold.until;
  };
  const after = (operation: StoreOperation) => {
    for (const sight of sights.filter(({ match }) => match(operation))) {
      sights.splice(sights.indexOf(sight), 1);
      sight.seen();
    }
  };
  kv.get = async function orderedGet<T>(this: KeyValue, namespace: string, key: string): Promise<T | undefined> {
    const operation: StoreOperation = { kind: 'get', namespace, key, route: Provider.ctx?.oidc?.route };
    await before(operation);
    const value = (await get.call(this, namespace, key)) as T | undefined;
    after(operation);
    return value;
  };
  kv.set = async function orderedSet<T>(this: KeyValue, namespace: string, key: string, value: T, options?: SetOptions): Promise<void> {
    const operation: StoreOperation = { kind: 'set', namespace, key, value, route: Provider.ctx?.oidc?.route };
    await before(operation);
    await set.call(this, namespace, key, value, options);
    after(operation);
  };
  return {
    hold: (match: StoreMatch, until: Promise<unknown>) => new Promise<void>((reached) => holds.push({ match, until, reached })),
    seen: (match: StoreMatch) => new Promise<void>((seen) => sights.push({ match, seen })),
    restore: () => Object.assign(kv, { get, set }),
  };
}
