import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * Signs oidc-provider's cookies (the `keys` Koa hands to the `cookies` package) with HMAC-SHA256.
 * Replaces keygrip, whose constant-time compare (tsscmp) computes two more HMACs under a fresh
 * Buffer key per cookie read; on Node 24 each Buffer-keyed HMAC costs about 20 µs, and oidc-provider
 * reads a signed cookie on every request it answers.
 */
export class CookieSigner {
  readonly #key: KeyObject;

  constructor(secret: string) {
    this.#key = createSecretKey(Buffer.from(secret));
  }

  sign(data: string): string {
    return createHmac('sha256', this.#key).update(data).digest('base64url');
  }

  /** The `cookies` package calls only `sign` and `index`; oidc-provider's types still ask `cookies.keys` for a whole Keygrip. */
  verify(data: string, digest: string): boolean {
    return this.index(data, digest) === 0;
  }

  /** keygrip's contract: the index of the key that made `digest`, or -1. There is one key. */
  index(data: string, digest: string): number {
    const expected = Buffer.from(this.sign(data));
    const given = Buffer.from(digest);
    return given.length === expected.length && timingSafeEqual(given, expected) ? 0 : -1;
  }
}
