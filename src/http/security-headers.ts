import type { NextFunction, Request, Response } from 'express';

/** A year: browsers keep to https for this long after one visit. */
const HSTS_MAX_AGE_SECONDS = 31_536_000;

/**
 * Strict defaults for every response. Pages that auto-post a form loosen the Content-Security-Policy
 * for their one inline script: the SAML POST-binding page sets its own with a nonce
 * (saml/post-form.ts), oidc-provider's pages get a `script-src` to add their script's hash to
 * (oidc/koa-bridge.ts). Served as https (publicUrl), browsers are also told never to use plain http
 * for this host again (HSTS), so a network attacker cannot strip TLS from a later visit.
 * Not for subdomains: other hosts of the organisation may not be on https.
 */
export function securityHeaders(publicUrl: string): (req: Request, res: Response, next: NextFunction) => void {
  const hsts = publicUrl.startsWith('https:') ? `max-age=${HSTS_MAX_AGE_SECONDS}` : undefined;
  return (_req, res, next) => {
    for (const [name, value] of Object.entries(STRICT_HEADERS)) res.setHeader(name, value);
    if (hsts) res.setHeader('Strict-Transport-Security', hsts);
    next();
  };
}

/**
 * The headers of every response, also of those the HTTP server writes itself for a request its
 * parser refused (http-server.ts), which never reach this middleware.
 */
export const STRICT_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  // same-origin, not no-referrer: under no-referrer browsers send `Origin: null` on our own form
  // POSTs, which the CSRF check must refuse. Other sites still never see our URLs (they carry tx ids).
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
};
