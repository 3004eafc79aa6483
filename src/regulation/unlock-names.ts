import type { User } from '../core/types.ts';
import { loginBucket } from './login-bucket.ts';

/** A sign-in name of the account whose count an unlock leaves, because another account has that count's name. */
export interface NameLeftLocked {
  name: string;
  /** The name it is counted under (its loginBucket). */
  countedAs: string;
  /** The username of the account the directory finds by `countedAs`. */
  otherAccount: string;
}

/**
 * Which of an account's other sign-in names an admin unlock may clear. A name is counted under its
 * loginBucket, which is cut at the `@`: a local user jdoe with the email admin@corp.example counts
 * that email under `admin`, user admin's own name, and unlocking jdoe lifted admin's lock while saying
 * it was jdoe's. A name whose count the directory finds another account by is left. The typed login's
 * own count is the one the administrator asked for, and always cleared.
 */
export async function namesToUnlock(login: string, account: User, names: readonly string[], findUser: (login: string) => Promise<User | null>): Promise<{ cleared: string[]; left: NameLeftLocked[] }> {
  const typed = loginBucket(login);
  const owners = new Map<string, User | null>();
  const cleared: string[] = [];
  const left: NameLeftLocked[] = [];
  for (const name of names) {
    const countedAs = loginBucket(name);
    if (countedAs !== typed && !owners.has(countedAs)) owners.set(countedAs, await findUser(countedAs));
    const owner = owners.get(countedAs);
    if (owner && owner.id !== account.id) left.push({ name, countedAs, otherAccount: owner.username });
    else cleared.push(name);
  }
  return { cleared, left };
}
