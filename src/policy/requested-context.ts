import type { RequestedAuthnContext } from '../core/types.ts';
import { ACR, ACR_LEVELS, levelOf } from './levels.ts';

/** Inclusive range of levels (indexes into ACR_LEVELS) the application accepts in the result. */
export interface LevelRange {
  lo: number;
  hi: number;
}

export const ALL_LEVELS: LevelRange = { lo: 0, hi: ACR_LEVELS.length - 1 };

/** Friendly names accepted in policies' `requested` condition next to the URIs. */
const ALIASES: Readonly<Record<string, string>> = { password: ACR.password, mfa: ACR.mfa };

export function resolveAcr(value: string): string {
  return ALIASES[value] ?? value;
}

export function isKnownAcr(value: string): boolean {
  return levelOf(resolveAcr(value)) >= 0;
}

/**
 * Classes weaker than every level Stepgate gives (saml-authn-context: Password is a password sent in
 * the clear): "minimum" or "better" one of them is met by any level, "exact" or "maximum" by none.
 */
const WEAKER_THAN_EVERY_LEVEL: ReadonlySet<string> = new Set(['urn:oasis:names:tc:SAML:2.0:ac:classes:Password', 'urn:oasis:names:tc:SAML:2.0:ac:classes:InternetProtocolPassword']);

/** A value's place among the levels; a weaker class sits half a step below the weakest. */
function rankOf(value: string): number | undefined {
  const level = levelOf(value);
  if (level >= 0) return level;
  return WEAKER_THAN_EVERY_LEVEL.has(value) ? -0.5 : undefined;
}

/**
 * The levels that satisfy a RequestedAuthnContext (SAML core §3.3.2.2.1; OIDC acr_values use `exact`).
 * Values we do not know are ignored. Undefined when the request names no level we know, or asks for
 * something no level can give ("better" than the strongest, "maximum" below the weakest).
 */
export function acceptableLevels(requested: RequestedAuthnContext): LevelRange | undefined {
  const known = requested.values.map(rankOf).filter((rank) => rank !== undefined);
  if (known.length === 0) return undefined;
  const weakest = Math.min(...known);
  const strongest = Math.max(...known);
  let range: LevelRange;
  switch (requested.comparison) {
    case 'exact': {
      // One of the listed levels (a weaker class is never given). Our levels are contiguous, so "one of the listed" is their span.
      const levels = known.filter((rank) => Number.isInteger(rank));
      if (levels.length === 0) return undefined;
      range = { lo: Math.min(...levels), hi: Math.max(...levels) };
      break;
    }
    case 'minimum':
      range = { lo: Math.max(0, Math.ceil(weakest)), hi: ALL_LEVELS.hi };
      break;
    case 'better':
      // "Stronger than any of the listed": stronger than the strongest one.
      range = { lo: Math.floor(strongest) + 1, hi: ALL_LEVELS.hi };
      break;
    case 'maximum':
      range = { lo: 0, hi: Math.floor(strongest) };
      break;
  }
  return range.lo <= range.hi ? range : undefined;
}

/**
 * False when no level Stepgate gives could ever satisfy the request, whatever the policy: SAML answers
 * it NoAuthnContext before any sign-in page (sso-start.ts), and `policy explain` says so.
 */
export function isSatisfiable(requested: RequestedAuthnContext): boolean {
  return acceptableLevels(requested) !== undefined;
}

/**
 * SAML RequestedAuthnContext and an essential OIDC `acr` claim bind: unmet means an error. Plain
 * OIDC `acr_values` are a wish: honoured when possible, otherwise ignored (OIDC Core §3.1.2.1).
 */
export function isBinding(requested: RequestedAuthnContext, protocol: 'saml' | 'oidc'): boolean {
  return protocol === 'saml' || requested.essential === true;
}
