import type { Grant, KoaContextWithOIDC } from 'oidc-provider';
import { claimsOfScopes } from './claims.ts';

/**
 * First-party consent (oidc-provider's `loadExistingGrant`): clients are registered by an
 * administrator, who decides which scopes each may ask for (oidc-provider refuses others with
 * invalid_scope at the authorization request; a sign-in resumed after the administrator took a
 * scope away still asks for it, but every grant is read as the client's scopes allow now, see
 * grant-adapter.ts). So whatever an authorized request asks for is granted here, without a consent
 * page; the grant is only written when it gains something. Claims asked for by
 * name (the `claims` parameter) are limited to those of the client's allowed scopes, so the
 * parameter cannot reach past the scope limit.
 */
export async function loadOrCreateGrant(ctx: KoaContextWithOIDC): Promise<Grant> {
  const { oidc } = ctx;
  const clientId = oidc.client!.clientId;
  const accountId = oidc.account!.accountId;
  const grantId = oidc.result?.consent?.grantId ?? oidc.session!.grantIdFor(clientId);
  const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  // A grant of another account (the browser changed user) is never reused.
  const grant = existing?.accountId === accountId ? existing : new oidc.provider.Grant({ accountId, clientId });

  const grantedScopes = new Set(grant.getOIDCScopeEncountered().split(' '));
  const grantedClaims = new Set(grant.getOIDCClaimsEncountered());
  const scopes = [...oidc.requestParamOIDCScopes].filter((scope) => !grantedScopes.has(scope));
  const allowedClaims = claimsOfScopes(oidc.client!.scope?.split(' ') ?? []);
  const claims = [...oidc.requestParamClaims].filter((claim) => allowedClaims.has(claim) && !grantedClaims.has(claim));
  if (grant === existing && !scopes.length && !claims.length) return grant;
  if (scopes.length) grant.addOIDCScope(scopes.join(' '));
  if (claims.length) grant.addOIDCClaims(claims);
  await grant.save();
  return grant;
}
