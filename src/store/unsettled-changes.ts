/** What the journal holds for one key while appends that change it are under way. */
interface Unsettled<V> {
  appends: number;
  /** Number of the key's latest change: only a failure of that one may put the value back. */
  latest: number;
  /** The value the journal ends on for the key, as far as its appends have settled. */
  onDisk: V | undefined;
}

/**
 * Keeps memory equal to the journal when an append fails (a full disk): the change was applied in
 * memory before its append (so readers in the same turn see it, and compare-and-set stays atomic),
 * and a restart would not find it. Appends settle in the order they were made, so when the latest
 * change of a key fails, every earlier one has settled, and `onDisk` is what the journal holds.
 * Only keys with appends under way are held: one small record each, dropped once they settle.
 */
export class UnsettledChanges<V> {
  readonly #keys = new Map<string, Unsettled<V>>();

  /**
   * Runs `append` for a change of `key` (already applied in memory) from `before` to `after`. When it
   * fails and no later change of the key was made meanwhile, `restore` gets what the journal holds.
   */
  async settle(key: string, before: V | undefined, after: V | undefined, append: () => Promise<void>, restore: (onDisk: V | undefined) => void): Promise<void> {
    let unsettled = this.#keys.get(key);
    if (!unsettled) this.#keys.set(key, (unsettled = { appends: 0, latest: 0, onDisk: before }));
    const change = ++unsettled.latest;
    unsettled.appends += 1;
    try {
      await append();
      unsettled.onDisk = after;
    } catch (error) {
      if (unsettled.latest === change) restore(unsettled.onDisk);
      throw error;
    } finally {
      if (--unsettled.appends === 0) this.#keys.delete(key);
    }
  }

  /**
   * The key changed in memory without an append of this process (a memory-only entry, or a line another
   * process wrote): an earlier change failing now must not put an older value over it.
   */
  overtaken(key: string): void {
    const unsettled = this.#keys.get(key);
    if (unsettled) unsettled.latest += 1;
  }
}
