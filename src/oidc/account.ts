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
export function accountFinder(directory: Directory, now: () => number = Date.now): FindAccount {
  const recent = new Map<string, { at: number; user: Promise<User | null> }>();
  return async (_ctx, sub) => {
    let cached = recent.get(sub);
    if (!cached || now() - cached.at > CACHE_MS) {
      cached = { at: now(), user: directory.findUserById(sub) };
      recent.delete(sub);
      recent.set(sub, cached);
      if (recent.size > CACHE_ENTRIES) recent.delete(recent.keys().next().value!);
      // A failed lookup is not remembered: the next call asks the directory again.
      cached.user.catch(() => recent.delete(sub));
    }
    const found = await cached.user;
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
