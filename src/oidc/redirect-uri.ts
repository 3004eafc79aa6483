import { canonicalFormIfDifferent } from '../core/url-form.ts';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
/** Loopback IP literals, whose port a public client may choose per request (RFC 8252 §7.3); not the name localhost (§8.3: it may resolve elsewhere). */
const LOOPBACK_IPS = new Set(['127.0.0.1', '[::1]']);

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
  // Scheme and host first: the spelling advice below must not name a URI that is refused anyway.
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) return 'http is only allowed for localhost, 127.0.0.1 or [::1]; use https';
  // A reverse-domain scheme is a mobile or desktop app's (RFC 8252 §7.1): "use https" alone would not tell its developer what works.
  if (url.protocol !== 'https:' && url.protocol !== 'http:' && url.protocol.includes('.')) {
    return `is a private-use URI scheme (${url.protocol}, RFC 8252 §7.1), which Stepgate does not support; a native app can receive the code on http://127.0.0.1 or http://[::1] with any port (register it with --public, §7.3), or on an https address it claims (§7.2)`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `scheme ${url.protocol} is not allowed; use https`;
  const canonical = canonicalFormIfDifferent(uri);
  // Compared as strings: a client sends the parser's spelling, which would never match this one.
  if (canonical) return `is written unusually; clients send it as ${canonical}: register that`;
  return undefined;
}

/**
 * Whether a client may be sent to `requested`: one of its `registered` URIs, character for character;
 * for a public client also an http URI on a loopback IP literal that differs from one of them only
 * in its port. A native app (a CLI, a desktop app) listens for the code on a port the system gives
 * it when it asks, and RFC 8252 §7.3 requires any port to be accepted there. Scheme, host, path and
 * query still match exactly, and only a URI in the form clients send is read that way. Confidential
 * clients are web servers with fixed addresses: exact only.
 */
export function redirectUriRegistered(registered: readonly string[], requested: string, publicClient: boolean): boolean {
  if (registered.includes(requested)) return true;
  if (!publicClient) return false;
  const portless = loopbackWithoutPort(requested);
  return portless !== undefined && registered.some((uri) => loopbackWithoutPort(uri) === portless);
}

/** The URI without its port when it is an http URI on a loopback IP literal in canonical form; else undefined. */
function loopbackWithoutPort(uri: string): string | undefined {
  const url = URL.parse(uri);
  if (!url || url.protocol !== 'http:' || !LOOPBACK_IPS.has(url.hostname) || url.username || url.password) return undefined;
  const authority = `${url.protocol}//${url.host}`;
  // Cut as a string, not rebuilt by the parser: the rest must match exactly, as written.
  if (!uri.startsWith(authority) || canonicalFormIfDifferent(uri) !== undefined) return undefined;
  return `${url.protocol}//${url.hostname}${uri.slice(authority.length)}`;
}
