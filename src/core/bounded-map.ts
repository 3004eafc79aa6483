/**
 * A Map that forgets its oldest entries beyond `capacity` (insertion order; setting a key again
 * makes it the newest). For in-memory caches of derived values that must not grow without bound.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  readonly #capacity: number;

  constructor(capacity: number) {
    super();
    this.#capacity = capacity;
  }

  override set(key: K, value: V): this {
    this.delete(key);
    super.set(key, value);
    while (this.size > this.#capacity) this.delete(this.keys().next().value as K);
    return this;
  }
}
