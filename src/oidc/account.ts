import type { Account, FindAccount } from 'oidc-provider';
import type { Directory } from '../directory/directory.ts';
import type { User } from '../core/types.ts';
import { oidcClaims } from '../rp/claims.ts';
import { SCOPE_CLAIMS } from './claims.ts';

const ALL_SCOPES: ReadonlySet<string> = new Set(Object.keys(SCOPE_CLAIMS));

/**
 * oidc-provider's `findAccount`: the directory is the source of truth on every use (sign-in,
 * token, refresh, userinfo). There is deliberately no fallback to the SSO session's snapshot of the
 * user: a user deleted or disabled in the directory gets no new tokens, and one whose groups changed
 * gets the current groups. The lookup is cached per request because oidc-provider calls this several
 * times while answering one token request.
 */
export function accountFinder(directory: Directory): FindAccount {
  const perRequest = new WeakMap<object, Map<string, Promise<User | null>>>();
  return async (ctx, sub) => {
    let users = perRequest.get(ctx);
    if (!users) perRequest.set(ctx, (users = new Map()));
    let user = users.get(sub);
    if (!user) users.set(sub, (user = directory.findUserById(sub)));
    const found = await user;
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
