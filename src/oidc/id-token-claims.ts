import { claimsOfScopes } from './claims.ts';

/**
 * Default of `oidc.idTokenMaxGroups`. An ID Token must stay usable as `id_token_hint`: the form POST
 * to end_session takes 8 KiB (koa-bridge.ts), and the GET it becomes, like a plain GET, must fit
 * Node's 16 KB request head with the cookies. 100 group names of the usual length (about 30
 * characters, as in Active Directory) make an RS256 ID Token of about 5.3 KB; 150 would be near 7.5 KB.
 */
export const ID_TOKEN_MAX_GROUPS = 100;

/**
 * The most the claims read from the directory may take in an ID Token, as JSON (UTF-8). With the
 * other claims, the header and an RS256 signature from a key of up to 4096 bits, the token stays
 * under about 7 KB whatever the directory holds: inside the 8 KiB form POST, with room for
 * post_logout_redirect_uri and state. A 32,768-character displayName would otherwise make it 88 KB.
 */
export const DIRECTORY_CLAIMS_MAX_BYTES = 4096;

const DIRECTORY_CLAIMS = ['name', 'preferred_username', 'email', 'groups'] as const;

/**
 * The one source the overage pointer names: userinfo, asked with the client's own access token. The
 * pointer has the shape of OIDC Core §5.6.2 distributed claims, as Microsoft Entra ID's group overage
 * has, but userinfo answers JSON, not the JWT §5.6.2 asks of a source; so discovery keeps
 * claim_types_supported ["normal"], and the README tells clients to read userinfo.
 */
const USERINFO_SOURCE = 'userinfo';

export interface IdTokenBounds {
  /** A user in more groups gets none in the ID Token, only at userinfo. */
  maxGroups: number;
}

/** What oidc-provider asks an account's `claims()` for: the scope and `claims` parameter granted, the claims refused. */
export interface ClaimsRequest {
  scope: string;
  claims: Record<string, unknown>;
  rejected: readonly string[];
}

/** The claims granted for that request: those the ID Token may carry, and those userinfo surely releases. */
export interface GrantedClaims {
  /** oidc-provider masks the account's claims for the ID Token with the same. */
  idToken: ReadonlySet<string>;
  /**
   * The scope's claims: userinfo releases them whatever the `claims` parameter asked. A claim asked
   * for the ID Token only (`claims={"id_token":{…}}`) is not among them, so no pointer may send the
   * client to userinfo for it.
   */
  userinfo: ReadonlySet<string>;
}

export function grantedClaims(request: ClaimsRequest): GrantedClaims {
  const refused = new Set(request.rejected);
  const ofScope = [...claimsOfScopes(request.scope.split(' '))].filter((claim) => !refused.has(claim));
  return { idToken: new Set([...ofScope, ...Object.keys(request.claims).filter((claim) => !refused.has(claim))]), userinfo: new Set(ofScope) };
}

/**
 * The ID Token's share of the account's claims: those granted, except that groups beyond
 * `maxGroups`, and whatever takes the directory claims past DIRECTORY_CLAIMS_MAX_BYTES (the largest
 * first), are left to userinfo, which keeps them all. The ID Token then points there with
 * `_claim_names`/`_claim_sources` (see USERINFO_SOURCE), so a relying party can tell a claim left to
 * userinfo from one the user does not have.
 */
export function idTokenClaims(claims: Record<string, unknown>, granted: GrantedClaims, bounds: IdTokenBounds, userinfoEndpoint: string): Record<string, unknown> {
  const kept = Object.fromEntries(Object.entries(claims).filter(([claim]) => granted.idToken.has(claim)));
  const left: string[] = [];
  const leave = (claim: string): void => {
    delete kept[claim];
    left.push(claim);
  };
  // Only what userinfo releases is left there; a claim asked for the ID Token only stays in it, whatever its size.
  if (Array.isArray(kept.groups) && kept.groups.length > bounds.maxGroups && granted.userinfo.has('groups')) leave('groups');
  for (let sizes = directoryClaimSizes(kept); total(sizes) > DIRECTORY_CLAIMS_MAX_BYTES; sizes = directoryClaimSizes(kept)) {
    const leavable = sizes.filter((size) => granted.userinfo.has(size.claim));
    if (leavable.length === 0) break;
    leave(leavable.reduce((largest, size) => (size.bytes > largest.bytes ? size : largest)).claim);
  }
  if (left.length === 0) return kept;
  return { ...kept, _claim_names: Object.fromEntries(left.map((claim) => [claim, USERINFO_SOURCE])), _claim_sources: { [USERINFO_SOURCE]: { endpoint: userinfoEndpoint } } };
}

function directoryClaimSizes(claims: Record<string, unknown>): Array<{ claim: string; bytes: number }> {
  return DIRECTORY_CLAIMS.filter((claim) => claims[claim] !== undefined).map((claim) => ({ claim, bytes: Buffer.byteLength(JSON.stringify(claims[claim])) }));
}

function total(sizes: ReadonlyArray<{ bytes: number }>): number {
  return sizes.reduce((sum, size) => sum + size.bytes, 0);
}
