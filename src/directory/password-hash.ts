import { scrypt, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../core/errors.ts';
import { storedPasswordForm } from './password-form.ts';

const N = 1 << 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

/**
 * Runs at most `maxRunning` tasks at once and keeps at most `maxWaiting` more in line, first come
 * first served; a task beyond that is refused at once with SIGN_IN_BUSY.
 */
export class DerivationSlots {
  readonly maxRunning: number;
  readonly maxWaiting: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(maxRunning: number, maxWaiting: number) {
    this.maxRunning = maxRunning;
    this.maxWaiting = maxWaiting;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running < this.maxRunning) this.#running++;
    else if (this.#waiting.length < this.maxWaiting) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else throw new AppError('SIGN_IN_BUSY', { detail: { reason: 'password-derivations-full', running: this.#running, waiting: this.#waiting.length } });
    try {
      return await task();
    } finally {
      // The slot goes straight to the next in line, so no newcomer can overtake it.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

/**
 * One process-wide gate, as libuv's thread pool (4 threads) is process-wide: two derivations at once
 * (on two cores that is as fast as four) leave two threads for the journal, the audit log and
 * /readyz, which would otherwise queue behind every guess of a flood. About 3 s of work may wait.
 */
export const PASSWORD_DERIVATIONS = new DerivationSlots(2, 64);

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  // Async scrypt runs on the libuv pool, so hashing never blocks the event loop.
  return PASSWORD_DERIVATIONS.run(
    () =>
      new Promise<Buffer>((resolve, reject) =>
        scrypt(storedPasswordForm(password), salt, KEY_LENGTH, { N: n, r, p, maxmem: 128 * n * r * 2 }, (error, key) => (error ? reject(error) : resolve(key))),
      ),
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

/** Throws AppError SIGN_IN_BUSY, without checking, when too many derivations are already running and waiting. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = encoded.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A hash that never matches, used so that unknown users cost the same time as known ones. */
export const DUMMY_HASH_PROMISE = hashPassword(randomBytes(16).toString('hex'));
