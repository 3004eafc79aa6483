import { randomBytes } from 'node:crypto';

/** 256-bit random identifier, URL safe. Used for sessions, transactions and opaque tokens. */
export function randomId(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
