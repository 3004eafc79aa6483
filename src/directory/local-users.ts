import type { Collection, Store } from '../store/store.ts';

/** A user of the local directory as stored. `passwordHash` is scrypt; previous hashes stop password reuse. */
export interface LocalUserRecord {
  id: string;
  username: string;
  name?: string;
  email?: string;
  groups: string[];
  attributes: Record<string, string[]>;
  passwordHash?: string;
  previousPasswordHashes: string[];
  passwordChangedAt?: number;
  mustChangePassword: boolean;
  disabled: boolean;
  /** Epoch ms after which the account may not sign in. */
  expiresAt?: number;
  /** One-time-use accounts are disabled after their first successful sign-in. */
  oneTimeUse: boolean;
  createdAt: number;
}

export function localUsers(store: Store): Collection<LocalUserRecord> {
  return store.collection<LocalUserRecord>('local-users');
}

export async function findLocalUserByName(users: Collection<LocalUserRecord>, username: string): Promise<LocalUserRecord | undefined> {
  const wanted = username.toLowerCase();
  return (await users.list()).find((user) => user.username.toLowerCase() === wanted || user.email?.toLowerCase() === wanted);
}
