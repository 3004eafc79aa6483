import { errors, type Account, type FindAccount, type KoaContextWithOIDC } from 'oidc-provider';
import type { User } from '../core/types.ts';
import type { UserLookup } from '../directory/user-lookup.ts';
import { oidcClaims } from '../rp/claims.ts';
import { SCOPE_CLAIMS } from './claims.ts';

const ALL_SCOPES: ReadonlySet<string> = new Set(Object.keys(SCOPE_CLAIMS));

/** Whether the client's policy still lets the user in, for a refresh token bound to this provider session. */
export type RefreshCheck = (ctx: KoaContextWithOIDC, sessionUid: string | undefined) => Promise<boolean>;

/** What the directory's answer for a code or token means for the SSO session its provider session `sessionUid` mirrors. */
export interface SessionConsequences {
  /** The directory answered that the account is gone (not that it could not be asked): the SSO session ends. */
  accountGone(ctx: KoaContextWithOIDC, sessionUid: string | undefined, accountId: string): Promise<void>;
  /** A code or refresh token is being exchanged for new tokens: the SSO session is in use while they last. */
  tokensIssued(ctx: KoaContextWithOIDC, sessionUid: string | undefined): Promise<void>;
}

/** The fields of oidc-provider's codes and tokens read here. */
interface SessionBoundToken {
  kind?: string;
  accountId?: string;
  sessionUid?: string;
}

const TOKEN_ISSUING_KINDS: ReadonlySet<string | undefined> = new Set(['AuthorizationCode', 'RefreshToken']);

/**
 * oidc-provider's `findAccount`: the directory, never the SSO session's snapshot, says who the subject
 * is now. For a refresh grant the client's policy is asked too: no account means invalid_grant. A
 * code exchange, refresh or userinfo request that finds the account gone ends its SSO session at
 * once, not at the browser's next visit (`session`: the provider always passes it; a finder without
 * it only answers).
 */
export function accountFinder(lookup: UserLookup, permitsRefresh: RefreshCheck, session?: SessionConsequences): FindAccount {
  return async (ctx, sub, token) => {
    const { kind, sessionUid } = (token ?? {}) as SessionBoundToken;
    if (kind === 'RefreshToken' && !(await permitsRefresh(ctx, sessionUid))) return undefined;
    const found = await lookup.find(sub);
    if (found) {
      if (TOKEN_ISSUING_KINDS.has(kind)) await session?.tokensIssued(ctx, sessionUid);
      return toAccount(found);
    }
    if (token) await session?.accountGone(ctx, sessionUid, sub);
    // No account ends a token, code or userinfo request cleanly, but oidc-provider's authorization
    // chain fails with a TypeError (a 500) when a session's account is gone: it was disabled or
    // deleted between Stepgate's last look and the resume. The client gets access_denied instead.
    if (ctx.oidc?.route === 'authorization' || ctx.oidc?.route === 'resume') throw new errors.AccessDenied('the account is no longer available');
    return undefined;
  };
}

/**
 * For introspection, which never asks `findAccount`: a token is active only while the directory has
 * its account (through the same cached lookup as userinfo and refresh). One whose account is gone
 * is inactive, and its SSO session ends as above.
 */
export function liveAccountCheck(lookup: UserLookup, accountGone: SessionConsequences['accountGone']) {
  return async (ctx: KoaContextWithOIDC, token: object): Promise<boolean> => {
    const { accountId, sessionUid } = token as SessionBoundToken;
    if (!accountId || (await lookup.find(accountId))) return true;
    await accountGone(ctx, sessionUid, accountId);
    return false;
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
