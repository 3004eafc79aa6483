import type { ClaimsParameter } from 'oidc-provider';
import type { RequestedAuthnContext } from '../core/types.ts';
import { essentialAcrs } from './binding.ts';

/**
 * What the authorization request behind a refresh token asked for, read from the `claims` the token
 * carries: oidc-provider keeps the request's claims parameter on the code and on every refresh token
 * made from it (in the store, through restarts and rotations), with `acr_values` folded into
 * `id_token.acr` as `{ values }`. So every refresh token has it, those issued before Stepgate read it too.
 *
 * As toLoginRequest reads the request: an essential acr claim binds, acr values are a preference.
 * Where the token cannot tell the request apart, it reads as oidc-provider kept it: with both
 * `acr_values` and an essential acr claim, only the acr_values (oidc-provider drops the claim);
 * an acr claim with values but not essential, as acr_values (a sign-in ignores it).
 */
export function requestedAtSignIn(claims: ClaimsParameter | undefined): RequestedAuthnContext | undefined {
  const essential = essentialAcrs(claims);
  if (essential) return { values: essential, comparison: 'exact', essential: true };
  const values = claims?.id_token?.acr?.values?.filter((value): value is string => typeof value === 'string');
  return values?.length ? { values, comparison: 'exact', essential: false } : undefined;
}
