import { canonicalFormIfDifferent } from '../core/url-form.ts';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Why a redirect (or post-logout redirect, or back-channel logout) URI cannot be registered, or
 * undefined when it can. Codes and tokens (Logout Tokens for the back-channel one) are sent to this
 * URI, so it must be absolute, exact (no fragment) and protected by TLS; plain http is only accepted
 * on the loopback interface (RFC 8252 §7.3).
 */
export function redirectUriProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'not an absolute URL';
  }
  if (uri.includes('#')) return 'must not contain a fragment (#)';
  // The URL parser would quietly percent-encode them, registering another URI than the one given.
  if (/\s/.test(uri)) return 'must not contain spaces';
  if (url.username || url.password) return 'must not contain credentials';
  if (uri.includes('*')) return 'is matched exactly, character for character: wildcards are not supported; register each URI';
  const canonical = canonicalFormIfDifferent(uri);
  // Compared as strings: a client sends the parser's spelling, which would never match this one.
  if (canonical) return `is written unusually; clients send it as ${canonical}: register that`;
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname) ? undefined : 'http is only allowed for localhost, 127.0.0.1 or [::1]; use https';
  return `scheme ${url.protocol} is not allowed; use https`;
}
