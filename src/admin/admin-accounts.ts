import type { Collection, Store } from '../store/store.ts';
import { randomUUID } from 'node:crypto';
import { hashPassword } from '../directory/password-hash.ts';

/** Stepgate administrators, kept apart from the user directory so an LDAP outage never locks admins out. */
export interface AdminAccount {
  id: string;
  username: string;
  passwordHash: string;
  createdAt: number;
}

export function adminAccounts(store: Store): Collection<AdminAccount> {
  return store.collection<AdminAccount>('admin-accounts');
}

export async function createAdminAccount(store: Store, username: string, password: string, now: number): Promise<AdminAccount> {
  const account: AdminAccount = { id: randomUUID(), username, passwordHash: await hashPassword(password), createdAt: now };
  await adminAccounts(store).put(account);
  return account;
}
