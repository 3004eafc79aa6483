import { generateSecret, verify } from 'otplib';

/** RFC 6238 parameters of one enrollment; kept with it so a config change does not break existing apps. */
export interface TotpParameters {
  digits: 6 | 7 | 8;
  periodSeconds: number;
  algorithm: 'sha1' | 'sha256' | 'sha512';
}

/** 160-bit secret (RFC 4226 recommends at least 128), Base32 as authenticator apps expect. */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/**
 * Key URI Format: the label is "issuer:account", each part percent-encoded. Built here because otplib's
 * generateURI leaves a colon inside the account name as it is, and apps would cut the name there.
 * The issuer cannot hold one (config refuses it).
 */
export function otpauthUri(options: { issuer: string; label: string; secret: string; parameters: TotpParameters }): string {
  const { issuer, label, secret, parameters } = options;
  const query = [`secret=${secret}`, `issuer=${encodeURIComponent(issuer)}`, `algorithm=${parameters.algorithm.toUpperCase()}`, `digits=${parameters.digits}`, `period=${parameters.periodSeconds}`];
  return `otpauth://totp/${encodeURIComponent(issuer)}:${encodeURIComponent(label)}?${query.join('&')}`;
}

/** What the user typed: a TOTP code, a backup code, or neither (never sent to otplib, which would throw). */
export type CodeInput = { kind: 'totp'; code: string } | { kind: 'backup'; code: string } | { kind: 'malformed' };

const BACKUP_CODE = /^[a-z2-7]{10}$/;

export function classifyCode(input: unknown, digits: number): CodeInput {
  if (typeof input !== 'string' || input.length > 64) return { kind: 'malformed' };
  const compact = input.replace(/[\s-]/g, '').toLowerCase();
  if (compact.length === digits && /^\d+$/.test(compact)) return { kind: 'totp', code: compact };
  if (BACKUP_CODE.test(compact)) return { kind: 'backup', code: compact };
  return { kind: 'malformed' };
}

/**
 * The RFC 6238 time step a correct code belongs to, looking `skewSeconds` either side of `nowMs`;
 * undefined for a wrong code. Time comes from the caller's clock, never from otplib's default.
 */
export async function matchingTimeStep(secret: string, code: string, parameters: TotpParameters, nowMs: number, skewSeconds: number): Promise<number | undefined> {
  const result = await verify({
    secret,
    token: code,
    digits: parameters.digits,
    period: parameters.periodSeconds,
    algorithm: parameters.algorithm,
    epoch: Math.floor(nowMs / 1000),
    epochTolerance: skewSeconds,
  });
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}
