import type { Request } from 'express';
import { errors, type Account, type FindAccount, type KoaContextWithOIDC } from 'oidc-provider';
import type { User } from '../core/types.ts';
import type { UserLookup } from '../directory/user-lookup.ts';
import { WarningBudget } from '../http/warning-budget.ts';
import { oidcClaims } from '../rp/claims.ts';
import { SCOPE_CLAIMS } from './claims.ts';
import { ID_TOKEN_MAX_GROUPS, grantedClaims, idTokenClaims, type IdTokenBounds } from './id-token-claims.ts';

const ALL_SCOPES: ReadonlySet<string> = new Set(Object.keys(SCOPE_CLAIMS));

/** Whether a code or refresh token may still be exchanged for tokens, as the client is registered now (exchange-check.ts). */
export type ExchangeCheck = (ctx: KoaContextWithOIDC, token: ExchangedToken) => Promise<boolean>;

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

/** A code or refresh token being exchanged for tokens. */
export interface ExchangedToken extends SessionBoundToken {
  kind: 'AuthorizationCode' | 'RefreshToken';
  /** A code's: where it was sent. */
  redirectUri?: string;
}

const TOKEN_ISSUING_KINDS: ReadonlySet<string | undefined> = new Set(['AuthorizationCode', 'RefreshToken']);

function isExchanged(token: SessionBoundToken): token is ExchangedToken {
  return TOKEN_ISSUING_KINDS.has(token.kind);
}

/**
 * oidc-provider's `findAccount`: the directory, never the SSO session's snapshot, says who the subject
 * is now. For a code exchange or refresh grant `mayExchange` is asked first (the client's redirect
 * URIs, its policy): no account means invalid_grant. A code exchange, refresh or userinfo request
 * that finds the account gone ends its SSO session at once, not at the browser's next visit
 * (`session`: the provider always passes it; a finder without it only answers). `idToken`: what of
 * the claims goes into ID Tokens (id-token-claims.ts).
 */
export function accountFinder(lookup: UserLookup, mayExchange: ExchangeCheck, session?: SessionConsequences, idToken: IdTokenBounds = { maxGroups: ID_TOKEN_MAX_GROUPS }): FindAccount {
  const warnings = new WarningBudget();
  return async (ctx, sub, token) => {
    const bound = (token ?? {}) as SessionBoundToken;
    const exchanged = isExchanged(bound);
    if (exchanged && !(await mayExchange(ctx, bound))) return undefined;
    const found = await lookup.find(sub);
    if (found) {
      if (exchanged) await session?.tokensIssued(ctx, bound.sessionUid);
      return toAccount(ctx, found, idToken, warnings);
    }
    if (token) await session?.accountGone(ctx, bound.sessionUid, sub);
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

function toAccount(ctx: KoaContextWithOIDC, user: User, idToken: IdTokenBounds, warnings: WarningBudget): Account {
  return {
    accountId: user.id,
    // For the token endpoint's audit event (endpoint-audit.ts), which would otherwise ask the directory again.
    username: user.username,
    // Everything the user has; oidc-provider releases only what the granted scopes and claims allow.
    // Userinfo gets it all; the ID Token is bounded, pointing to userinfo for what it leaves there.
    claims: (use, scope, claims, rejected) => {
      const { claims: released, leftOut } = oidcClaims(user, ALL_SCOPES);
      if (use !== 'id_token') return { sub: user.id, ...released };
      const granted = grantedClaims({ scope, claims, rejected });
      const leftOutHere = leftOut.filter((claim) => granted.idToken.has(claim));
      // Once per ID Token (a code exchange or a refresh), as SAML warns once per assertion; userinfo
      // answers, which a client may ask for at every page, leave the same values out without a word.
      const { log } = ctx.req as Request;
      if (leftOutHere.length > 0 && warnings.admit('OIDC_CLAIM_VALUE_LEFT_OUT', log)) {
        log.warn({ code: 'OIDC_CLAIM_VALUE_LEFT_OUT', clientId: ctx.oidc.client?.clientId, userId: user.id, claims: leftOutHere }, 'oidc: claim values that are not an email address or hold a control character left out');
      }
      return { sub: user.id, ...idTokenClaims(released, granted, idToken, ctx.oidc.urlFor('userinfo')) };
    },
  };
}
