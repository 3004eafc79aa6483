/**
 * Values a directory holds for every user alike (AD's domain maxPwdAge, a ppolicy entry's pwdMaxAge),
 * read when a sign-in first needs one and kept, so sign-ins do not read them every time. Sign-ins
 * that need a value being read share that read. A read that fails is not kept: `failed` reports it,
 * the sign-ins go on without the value, and one at least `retryMs` later reads it again.
 */
export class KeptReads<V> {
  readonly #read: (key: string) => Promise<V>;
  readonly #failed: (key: string, error: unknown) => void;
  readonly #now: () => number;
  readonly #keptMs: number;
  readonly #retryMs: number;
  readonly #kept = new Map<string, { value: V; readAt: number }>();
  readonly #reading = new Map<string, Promise<V | undefined>>();
  readonly #failedAt = new Map<string, number>();

  /** `keptMs`: how long a value read is used before it is read again (Infinity: for the process's life). */
  constructor(options: { read: (key: string) => Promise<V>; failed: (key: string, error: unknown) => void; now: () => number; keptMs: number; retryMs: number }) {
    this.#read = options.read;
    this.#failed = options.failed;
    this.#now = options.now;
    this.#keptMs = options.keptMs;
    this.#retryMs = options.retryMs;
  }

  /** The value of `key`; undefined while it cannot be read. */
  get(key: string): Promise<V | undefined> {
    const kept = this.#kept.get(key);
    if (kept && this.#now() - kept.readAt < this.#keptMs) return Promise.resolve(kept.value);
    const reading = this.#reading.get(key);
    if (reading) return reading;
    const failedAt = this.#failedAt.get(key);
    if (failedAt !== undefined && this.#now() - failedAt < this.#retryMs) return Promise.resolve(undefined);
    const read = this.#read(key)
      .then(
        (value) => {
          this.#kept.set(key, { value, readAt: this.#now() });
          this.#failedAt.delete(key);
          return value;
        },
        (error: unknown) => {
          this.#kept.delete(key);
          this.#failedAt.set(key, this.#now());
          this.#failed(key, error);
          return undefined;
        },
      )
      .finally(() => this.#reading.delete(key));
    this.#reading.set(key, read);
    return read;
  }
}
