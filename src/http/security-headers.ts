import type { NextFunction, Request, Response } from 'express';

/** Strict defaults for every response; pages that auto-post a form pass a script nonce through `res.locals.cspNonce`. */
export function securityHeaders(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  // same-origin, not no-referrer: under no-referrer browsers send `Origin: null` on our own form
  // POSTs, which the CSRF check must refuse. Other sites still never see our URLs (they carry tx ids).
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'");
  next();
}
