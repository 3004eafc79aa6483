import type { Account, FindAccount } from 'oidc-provider';
import type { User } from '../core/types.ts';
import type { UserLookup } from '../directory/user-lookup.ts';
import { oidcClaims } from '../rp/claims.ts';
import { SCOPE_CLAIMS } from './claims.ts';

const ALL_SCOPES: ReadonlySet<string> = new Set(Object.keys(SCOPE_CLAIMS));

/** oidc-provider's `findAccount`: the directory, never the SSO session's snapshot, says who the subject is now. */
export function accountFinder(lookup: UserLookup): FindAccount {
  return async (_ctx, sub) => {
    const found = await lookup.find(sub);
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
