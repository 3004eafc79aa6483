/**
 * The regulator's stored counts: their namespace, what one holds, and the key each is kept under
 * (a login name's bucket, an account, a familiar device, a client, a guessed secret).
 */
import type { KeyValue } from '../store/store.ts';
import { clientNetwork } from './client-network.ts';
import { loginBucket } from './login-bucket.ts';
import type { FamiliarDevice, StartedLock, Subject } from './regulation.ts';

export const NAMESPACE = 'regulation';

export interface Counter {
  /** Wrong guesses inside the window (epoch ms). */
  failures: number[];
  lockedUntil?: number;
}

/**
 * Forgets every client's count of guesses at a secret, for when a new secret replaces it (stored
 * counts only; guesses being checked right now still count when they end). Maintenance, not for
 * the sign-in path: it reads every counter.
 */
export async function forgetSecretGuesses(kv: KeyValue, secret: string): Promise<void> {
  const keys = await keysStartingWith(kv, secretKeyPrefix(secret));
  await Promise.all(keys.map((key) => kv.delete(NAMESPACE, key)));
}

export async function keysStartingWith(kv: KeyValue, prefix: string): Promise<string[]> {
  return (await kv.entries<Counter>(NAMESPACE)).map(([key]) => key).filter((key) => key.startsWith(prefix));
}

export function keyOf(subject: Subject, ip: string): string {
  if ('login' in subject) return loginKey(subject.login);
  return 'account' in subject ? accountKey(subject.account) : `${secretKeyPrefix(subject.secret)}${clientNetwork(ip)}`;
}

export function loginKey(login: string): string {
  return `u:${loginBucket(login)}`;
}

export function accountKey(account: string): string {
  return `a:${account}`;
}

function secretKeyPrefix(secret: string): string {
  return `s:${encodeURIComponent(secret)}:`;
}

/** Encoded, so that no account id can be the start of another's prefix. */
export function deviceKeyPrefix(account: string): string {
  return `d:${encodeURIComponent(account)}:`;
}

export function deviceKey(device: FamiliarDevice): string {
  return `${deviceKeyPrefix(device.account)}${device.id}`;
}

export function scopeOf(key: string): StartedLock['scope'] {
  return isClientKey(key) ? 'ip' : key.startsWith('a:') ? 'account' : key.startsWith('d:') ? 'device' : key.startsWith('s:') ? 'secret' : 'login';
}

export function ipKey(ip: string): string {
  return `ip:${clientNetwork(ip)}`;
}

/**
 * A client's count of wrong second-factor codes, apart from its wrong passwords: the users of an
 * office behind one address mistype codes too, and a lock caused by passwords (a guesser on the same
 * network) must not also stop the code step of users whose password was right.
 */
export function codeIpKey(ip: string): string {
  return `ip-code:${clientNetwork(ip)}`;
}

export function isClientKey(key: string): boolean {
  return key.startsWith('ip:') || key.startsWith('ip-code:');
}
