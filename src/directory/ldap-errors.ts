/**
 * Telling LDAP failures apart and describing them. A leaf: the connection layer and the account-state
 * rules both need these, and neither may import the other.
 */
import { ResultCodeError } from 'ldapts';

/** The directory cannot be used (network, TLS, service account); `message` is meant for the admin log. */
export class LdapUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LdapUnavailableError';
  }
}

/** An answer from the server (wrong password, no such object…) as opposed to a transport failure. */
export function isLdapResult(err: unknown): err is ResultCodeError {
  return err instanceof ResultCodeError;
}

const REFERRAL = 10;

/** LDAP 10: the server does not hold the entry and names others that may (ldapts has no name for it). */
export function isReferral(err: unknown): err is ResultCodeError {
  return isLdapResult(err) && err.code === REFERRAL;
}

export function describeError(err: unknown): string {
  if (err instanceof ResultCodeError) {
    // ldapts messages are often just "Code: 0x31"; spell the result out ("LDAP 49 invalid credentials")
    const text = err.message.replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
    // The referral's URLs are not in ldapts's error; Active Directory names the domain in the text, over several lines.
    if (err.code === REFERRAL) return `LDAP ${REFERRAL} referral${text ? ` (${text.replace(/\s+/g, ' ')})` : ''}: the server refers to another server for this entry, and Stepgate does not follow referrals`;
    const kind = err.constructor.name.replace(/Error$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
    return `LDAP ${err.code} ${kind}${text ? `: ${text}` : ''}`;
  }
  const e = err as { code?: unknown; message?: string };
  const message = e?.message ?? String(err);
  // Node's system errors start with their code already ("ENOENT: no such file or directory, open …")
  const code = typeof e?.code === 'string' && !message.startsWith(`${e.code}:`) ? `${e.code}: ` : '';
  return `${code}${message}`.replace(/\s+/g, ' ').trim();
}

/**
 * Bind results by which the server says it could not judge the credentials (out of time or resources,
 * busy, shutting down, internal failure); AD and OpenLDAP send them under load. They say nothing about
 * the password, so the sign-in is 'unavailable' and no failure is counted.
 */
const UNJUDGED_BIND_RESULTS = new Set([
  1, // operationsError
  3, // timeLimitExceeded
  11, // adminLimitExceeded
  51, // busy
  52, // unavailable
  80, // other
]);

export function bindResultLeftUnjudged(resultCode: number): boolean {
  return UNJUDGED_BIND_RESULTS.has(resultCode);
}
