import { errors, type Account, type FindAccount, type KoaContextWithOIDC } from 'oidc-provider';
import type { User } from '../core/types.ts';
import type { UserLookup } from '../directory/user-lookup.ts';
import { oidcClaims } from '../rp/claims.ts';
import { SCOPE_CLAIMS } from './claims.ts';

const ALL_SCOPES: ReadonlySet<string> = new Set(Object.keys(SCOPE_CLAIMS));

/** Whether the client's policy still lets the user in, for a refresh token bound to this provider session. */
export type RefreshCheck = (ctx: KoaContextWithOIDC, sessionUid: string | undefined) => Promise<boolean>;

/**
 * oidc-provider's `findAccount`: the directory, never the SSO session's snapshot, says who the subject
 * is now. For a refresh grant the client's policy is asked too: no account means invalid_grant.
 */
export function accountFinder(lookup: UserLookup, permitsRefresh: RefreshCheck): FindAccount {
  return async (ctx, sub, token) => {
    if (token?.kind === 'RefreshToken' && !(await permitsRefresh(ctx, (token as { sessionUid?: string }).sessionUid))) return undefined;
    const found = await lookup.find(sub);
    if (found) return toAccount(found);
    // No account ends a token, code or userinfo request cleanly, but oidc-provider's authorization
    // chain fails with a TypeError (a 500) when a session's account is gone: it was disabled or
    // deleted between Stepgate's last look and the resume. The client gets access_denied instead.
    if (ctx.oidc?.route === 'authorization' || ctx.oidc?.route === 'resume') throw new errors.AccessDenied('the account is no longer available');
    return undefined;
  };
}

function toAccount(user: User): Account {
  return {
    accountId: user.id,
    // For the token endpoint's audit event (endpoint-audit.ts), which would otherwise ask the directory again.
    username: user.username,
    // Everything the user has; oidc-provider releases only what the granted scopes and claims allow.
    claims: () => ({ sub: user.id, ...oidcClaims(user, ALL_SCOPES) }),
  };
}
