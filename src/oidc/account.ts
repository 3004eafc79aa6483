import type { Account, FindAccount } from 'oidc-provider';
import type { Directory } from '../directory/directory.ts';
import type { User } from '../core/types.ts';
import { oidcClaims } from '../rp/claims.ts';
import { SCOPE_CLAIMS } from './claims.ts';

const ALL_SCOPES: ReadonlySet<string> = new Set(Object.keys(SCOPE_CLAIMS));

/** How long a directory answer is reused across requests; a disabled user is refused within this. */
const CACHE_MS = 10_000;
const CACHE_ENTRIES = 10_000;

/**
 * oidc-provider's `findAccount`: the directory is the source of truth (sign-in, token, refresh,
 * userinfo). There is deliberately no fallback to the SSO session's snapshot of the user: a user
 * deleted or disabled in the directory gets no new tokens, and one whose groups changed gets the
 * current groups. Answers are reused for a few seconds because one sign-in calls this at the
 * authorization, token and userinfo steps, and each LDAP lookup is a user search plus group searches.
 */
export type UserLookup = (id: string) => Promise<User | null>;

/** The directory's findUserById with answers reused for CACHE_MS; shared by every OIDC step of a sign-in. */
export function cachedUserLookup(directory: Directory, now: () => number): UserLookup {
  const recent = new Map<string, { at: number; user: Promise<User | null> }>();
  return (id) => {
    let cached = recent.get(id);
    if (!cached || now() - cached.at > CACHE_MS) {
      cached = { at: now(), user: directory.findUserById(id) };
      recent.delete(id);
      recent.set(id, cached);
      if (recent.size > CACHE_ENTRIES) recent.delete(recent.keys().next().value!);
      // A failed lookup is not remembered: the next call asks the directory again.
      cached.user.catch(() => recent.delete(id));
    }
    return cached.user;
  };
}

export function accountFinder(lookup: UserLookup): FindAccount {
  return async (_ctx, sub) => {
    const found = await lookup(sub);
    return found ? toAccount(found) : undefined;
  };
}

function toAccount(user: User): Account {
  return {
    accountId: user.id,
    // Everything the user has; oidc-provider releases only what the granted scopes and claims allow.
    claims: () => ({ sub: user.id, ...oidcClaims(user, ALL_SCOPES) }),
  };
}
