import type { RequestedAuthnContext } from '../core/types.ts';
import { levelOf } from '../policy/levels.ts';
import { acceptableLevels } from '../policy/requested-context.ts';

/**
 * RequestedAuthnContext against the result's AuthnContextClassRef, with the comparison semantics of
 * saml-core §3.3.2.2.1 as the policy module reads them (one reading for the whole server).
 */
export function satisfiesRequestedContext(requested: RequestedAuthnContext, acr: string): boolean {
  const range = acceptableLevels(requested);
  const level = levelOf(acr);
  return range !== undefined && level >= range.lo && level <= range.hi;
}
