/**
 * The URL as the WHATWG parser (browsers, fetch, every URL library) writes it, when `text` is written
 * otherwise: upper-case scheme or host, a numeric host, one slash after the scheme, a default port.
 * Registered URLs are compared as strings, so such a spelling may never equal what a client sends.
 * undefined when the text is already in that form (an empty path without its slash counts as written so).
 */
export function canonicalFormIfDifferent(text: string): string | undefined {
  const url = new URL(text);
  if (url.href === text) return undefined;
  if (url.pathname === '/' && !url.search && !url.hash && url.href === `${text}/`) return undefined;
  return url.href;
}
