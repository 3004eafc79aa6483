import { createCipheriv, createDecipheriv, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { randomPoolBytes } from './random-pool.ts';

const VERSION = 'v1';
const TAG_BYTES = 16;

/**
 * AES-GCM refused a sealed value: it was sealed with another key or for another purpose, or altered
 * since. A class of its own so that start-up can tell a wrong key from a malformed value.
 */
export class SealedValueRejected extends Error {
  constructor(purpose: string, options: { cause: unknown }) {
    super(`a sealed ${purpose} does not open with this key`, options);
    this.name = 'SealedValueRejected';
  }
}

/**
 * Encrypts secrets at rest (TOTP seeds, signing keys, client secrets) with AES-256-GCM.
 * The additional data binds a ciphertext to its purpose so one cannot be swapped for another.
 */
export class SecretBox {
  /**
   * A KeyObject, not the Buffer: Node 24 probes every Buffer key with a throwing KeyObject check,
   * which costs about 20 µs per HMAC or cipher (five times the operation itself).
   */
  readonly #key: KeyObject;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('secret key must be 32 bytes');
    this.#key = createSecretKey(key);
  }

  seal(plaintext: string | Buffer, purpose: string): string {
    const iv = randomPoolBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(purpose));
    const head = cipher.update(plaintext);
    // GCM is a stream mode: final() adds no bytes, so the body is not copied once more (a journal
    // record is 16 KB, and every copy is a block the C heap keeps after it is freed).
    const tail = cipher.final();
    const body = tail.length === 0 ? head : Buffer.concat([head, tail]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  open(sealed: string, purpose: string): Buffer {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('sealed value has an unknown format');
    const authTag = Buffer.from(tag, 'base64url');
    // GCM takes tags cut to as little as 4 bytes, and some sealed values come back from browsers (the
    // familiar-device cookie): a cut tag would leave a forger 32 bits to guess, not 128.
    if (authTag.length !== TAG_BYTES) throw new SealedValueRejected(purpose, { cause: new Error(`a ${authTag.length}-byte tag, not ${TAG_BYTES}`) });
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(purpose));
    decipher.setAuthTag(authTag);
    const head = decipher.update(Buffer.from(body, 'base64url'));
    try {
      // GCM checks the tag in final(): this is where a wrong key shows.
      const tail = decipher.final();
      return tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch (error) {
      throw new SealedValueRejected(purpose, { cause: error });
    }
  }

  openText(sealed: string, purpose: string): string {
    return this.open(sealed, purpose).toString('utf8');
  }

  /** Keyed MAC for stateless tokens (CSRF) and for deriving stable opaque identifiers. */
  mac(purpose: string, value: string): string {
    return createHmac('sha256', this.#key).update(purpose).update('\0').update(value).digest('base64url');
  }
}

/** Constant-time string comparison that does not leak length through early exit. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
