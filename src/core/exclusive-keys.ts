/**
 * Runs the work for one key one caller at a time within this process; the others wait their turn.
 * For "exactly once" steps that read a record, wait on I/O, then write it (spending a one-time
 * account, activating a TOTP registration): each caller re-reads inside its turn and finds what the
 * one before it wrote. Only the server makes these steps, so a guard in its memory is enough.
 */
export class ExclusiveKeys {
  readonly #tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    const turn = before.then(work, work);
    const tail = turn.catch(() => undefined);
    this.#tails.set(key, tail);
    try {
      return await turn;
    } finally {
      // The last in line removes the key, so the map holds only keys with work under way.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
