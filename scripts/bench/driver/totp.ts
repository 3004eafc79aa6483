/**
 * An independent RFC 6238 / RFC 4226 implementation (node:crypto HMAC) for the load driver and the
 * machine-limit measurement; deliberately not the IdP's code, so a bug there cannot hide here.
 */
import { createHmac, createHash } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Decode(text: string): Buffer {
  const clean = text.replace(/=+$/, '').toUpperCase();
  const out = Buffer.alloc(Math.floor((clean.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let index = 0;
  for (const char of clean) {
    const digit = BASE32.indexOf(char);
    if (digit < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | digit;
    bits += 5;
    if (bits >= 8) {
      out[index++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out;
}

export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** HOTP value of one counter (RFC 4226 dynamic truncation), zero-padded to `digits`. */
export function hotp(key: Buffer, counter: number, digits = 6): string {
  const message = Buffer.alloc(8);
  message.writeUInt32BE(Math.floor(counter / 0x1_0000_0000), 0);
  message.writeUInt32BE(counter >>> 0, 4);
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

export function timeStep(nowMs: number, periodSeconds = 30): number {
  return Math.floor(nowMs / 1000 / periodSeconds);
}

/** A minimal verifier (±`window` steps), used to measure what one TOTP check costs on this machine. */
export function verifyTotp(key: Buffer, code: string, nowMs: number, window = 1): number | undefined {
  const step = timeStep(nowMs);
  for (let candidate = step - window; candidate <= step + window; candidate++) if (hotp(key, candidate) === code) return candidate;
  return undefined;
}

/** The bench user's TOTP secret, derived from the run's seed so that seeding and driver agree without a file. */
export function benchSecret(seed: string, user: number): string {
  return base32Encode(createHash('sha256').update(`${seed}:${user}`).digest().subarray(0, 20));
}
