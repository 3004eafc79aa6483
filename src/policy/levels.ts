import type { Amr, Factor } from '../core/types.ts';

/**
 * The single table of assurance levels. Both protocols use the same identifiers: SAML puts them in
 * AuthnContextClassRef, OIDC in `acr`.
 */
export const ACR = {
  password: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
  mfa: 'https://refeds.org/profile/mfa',
} as const;

export type AcrValue = (typeof ACR)[keyof typeof ACR];

/** Ordered weakest first, for RequestedAuthnContext comparison and acr_values. */
export const ACR_LEVELS: readonly AcrValue[] = [ACR.password, ACR.mfa];

export function levelOf(acr: string): number {
  return ACR_LEVELS.indexOf(acr as AcrValue);
}

const SECOND_FACTORS: ReadonlySet<Amr> = new Set(['otp', 'hwk', 'swk']);

export function amrFor(factors: Factor[]): Amr[] {
  const methods = [...new Set(factors.map((factor) => factor.method))];
  return methods.some((method) => SECOND_FACTORS.has(method)) && methods.includes('pwd') ? [...methods, 'mfa'] : methods;
}

export function acrFor(factors: Factor[]): AcrValue {
  return amrFor(factors).includes('mfa') ? ACR.mfa : ACR.password;
}
