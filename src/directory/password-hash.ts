import { scrypt, randomBytes, timingSafeEqual } from 'node:crypto';

const N = 1 << 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  // Async scrypt runs on the libuv pool, so hashing never blocks the event loop.
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { N: n, r, p, maxmem: 128 * n * r * 2 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** `scrypt$N$r$p$salt$hash`, parameters stored so they can be raised later without breaking old hashes. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Whether `encoded` has the shape `hashPassword` writes (hashes from another installation are checked before they are stored). */
export function isPasswordHash(encoded: string): boolean {
  const [scheme, n, r, p, salt, hash, ...rest] = encoded.split('$');
  const positive = (value: string | undefined) => /^[1-9][0-9]{0,9}$/.test(value ?? '');
  const base64url = (value: string | undefined) => /^[A-Za-z0-9_-]{16,}$/.test(value ?? '');
  return scheme === 'scrypt' && rest.length === 0 && positive(n) && positive(r) && positive(p) && base64url(salt) && base64url(hash);
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = encoded.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A hash that never matches, used so that unknown users cost the same time as known ones. */
export const DUMMY_HASH_PROMISE = hashPassword(randomBytes(16).toString('hex'));
