/**
 * Which claims each scope releases. `acr`, `amr` and `auth_time` sit under `openid` so every ID Token
 * carries how and when the user authenticated; the values themselves come from `rp/claims.ts`.
 */
export const SCOPE_CLAIMS: Readonly<Record<string, readonly string[]>> = {
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  profile: ['name', 'preferred_username'],
  email: ['email', 'email_verified'],
  groups: ['groups'],
};

/** oidc-provider's `claims` configuration (a fresh copy: oidc-provider rewrites it in place). */
export function providerClaims(): Record<string, string[] | null> {
  const scopes = Object.fromEntries(Object.entries(SCOPE_CLAIMS).map(([scope, claims]) => [scope, [...claims]]));
  return { ...scopes, acr: null, amr: null, auth_time: null, sid: null, iss: null };
}

/** Claims a client may receive: those of the scopes it is allowed to request. */
export function claimsOfScopes(scopes: Iterable<string>): Set<string> {
  return new Set([...scopes].flatMap((scope) => SCOPE_CLAIMS[scope] ?? []));
}
