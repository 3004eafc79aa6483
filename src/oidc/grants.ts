import { randomPoolString } from '../core/random-pool.ts';
import type { Grant, KoaContextWithOIDC } from 'oidc-provider';
import { claimsOfScopes } from './claims.ts';

/** Grants made or widened for a request and not written yet: written once a code is issued from them (served-clients.ts). */
const unsaved = new WeakSet<Grant>();

/**
 * First-party consent (oidc-provider's `loadExistingGrant`): clients are registered by an
 * administrator, who decides which scopes each may ask for (oidc-provider refuses others with
 * invalid_scope at the authorization request; a sign-in resumed after the administrator took a
 * scope away still asks for it, but every grant is read as the client's scopes allow now, see
 * grant-adapter.ts). So whatever an authorized request asks for is granted here, without a consent
 * page. Claims asked for by name (the `claims` parameter) are limited to those of the client's
 * allowed scopes, so the parameter cannot reach past the scope limit.
 *
 * oidc-provider asks for the grant before Stepgate's login checks and policy run, so what is made
 * here is not written yet: only a request that ends with a code for the client writes it, and only
 * when it gained something (served-clients.ts, where the client's place in the session waits too).
 */
export async function loadOrCreateGrant(ctx: KoaContextWithOIDC): Promise<Grant> {
  const { oidc } = ctx;
  const clientId = oidc.client!.clientId;
  const accountId = oidc.account!.accountId;
  const grantId = oidc.result?.consent?.grantId ?? oidc.session!.grantIdFor(clientId);
  const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  // A grant of another account (the browser changed user) is never reused.
  const grant = existing?.accountId === accountId ? existing : newGrant(ctx, accountId, clientId);

  const grantedScopes = new Set(grant.getOIDCScopeEncountered().split(' '));
  const grantedClaims = new Set(grant.getOIDCClaimsEncountered());
  const scopes = [...oidc.requestParamOIDCScopes].filter((scope) => !grantedScopes.has(scope));
  const allowedClaims = claimsOfScopes(oidc.client!.scope?.split(' ') ?? []);
  const claims = [...oidc.requestParamClaims].filter((claim) => allowedClaims.has(claim) && !grantedClaims.has(claim));
  if (grant === existing && !scopes.length && !claims.length) return grant;
  if (scopes.length) grant.addOIDCScope(scopes.join(' '));
  if (claims.length) grant.addOIDCClaims(claims);
  unsaved.add(grant);
  return grant;
}

/** Writes the grant a code was just issued from, if this request made or widened it. */
export async function saveUnsavedGrant(grant: Grant): Promise<void> {
  if (!unsaved.has(grant)) return;
  await grant.save();
  unsaved.delete(grant);
}

/**
 * A grant not written yet still needs its id now: oidc-provider puts it in the session and in the
 * code. The same 256 random bits oidc-provider gives the ids it makes at a first save.
 */
function newGrant(ctx: KoaContextWithOIDC, accountId: string, clientId: string): Grant {
  const grant = new ctx.oidc.provider.Grant({ accountId, clientId });
  grant.jti = randomPoolString(32, 'base64url');
  return grant;
}
