import { randomFillSync } from 'node:crypto';

/**
 * Bytes from the CSPRNG, drawn a pool at a time as Node's own randomUUID does: each randomBytes
 * call costs about 4 µs of fixed overhead whatever its size, and a sign-in draws a dozen small
 * values (ids, IVs, grant ids). Every byte is handed out once, then the pool is refilled; no value
 * shares a byte with another, so each has the entropy of the bytes it asked for.
 */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let offset = POOL_BYTES;

/** Where `size` fresh bytes start in the pool (refilled first when fewer are left). */
function take(size: number): number {
  if (offset + size > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const start = offset;
  offset += size;
  return start;
}

/** `size` random bytes in a Buffer of their own (the pool's memory is drawn again later). */
export function randomPoolBytes(size: number): Buffer {
  if (size > POOL_BYTES) return randomFillSync(Buffer.alloc(size));
  const start = take(size);
  return Buffer.from(pool.subarray(start, start + size));
}

/** `size` random bytes in `encoding`, read straight from the pool. */
export function randomPoolString(size: number, encoding: 'base64url' | 'hex'): string {
  if (size > POOL_BYTES) return randomFillSync(Buffer.alloc(size)).toString(encoding);
  const start = take(size);
  return pool.toString(encoding, start, start + size);
}
