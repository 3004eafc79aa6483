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

/**
 * The form in which sign-in names are compared: any case, and one encoding (NFC) of what looks the
 * same, as the LDAP directory's logins (normaliseLogin). A record an older version stored in another
 * encoding (NFD, as macOS writes "é") is compared in this form too, so it is still found. NFC again
 * after lowercasing: "T" and a diaeresis lowercase to a pair that NFC composes into one letter.
 */
const signInKey = (name: string) => name.normalize('NFC').toLowerCase().normalize('NFC');

/** A user signs in with their username or email, in any case; a username wins over another user's email. */
export const signInNames = (user: LocalUserRecord) => [signInKey(user.username), user.email === undefined ? undefined : signInKey(user.email)];

export const LOCAL_USERS_COLLECTION = 'local-users';

export function localUsers(store: Store): Collection<LocalUserRecord> {
  return store.collection<LocalUserRecord>(LOCAL_USERS_COLLECTION, { lookupKeys: signInNames });
}

export function findLocalUserByName(users: Collection<LocalUserRecord>, username: string): Promise<LocalUserRecord | undefined> {
  return users.lookup(signInKey(username));
}
