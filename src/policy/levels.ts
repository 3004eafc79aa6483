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

/** Second-factor methods Stepgate can drive; policies name them to say which count. */
export const MFA_METHOD_IDS = ['totp', 'webauthn', 'push'] as const;
export type MfaMethodId = (typeof MFA_METHOD_IDS)[number];

/** The RFC 8176 value each method records in the session when it succeeds. */
const METHOD_AMR: Readonly<Record<MfaMethodId, Amr>> = { totp: 'otp', webauthn: 'hwk', push: 'swk' };

/**
 * The level a session reached for one decision: MFA counts only when the second factor is one of the
 * allowed methods and not older than `freshSince` (epoch ms).
 */
export function levelReached(factors: readonly Factor[], allowed: readonly MfaMethodId[], freshSince = -Infinity): number {
  const amrs = new Set(allowed.map((method) => METHOD_AMR[method]));
  const password = factors.some((factor) => factor.method === 'pwd');
  const second = factors.some((factor) => amrs.has(factor.method) && factor.at >= freshSince);
  if (password && second) return levelOf(ACR.mfa);
  return password ? levelOf(ACR.password) : -1;
}
