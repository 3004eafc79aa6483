import type { NextFunction, Request, Response } from 'express';

/** A request target in absolute form: scheme and authority before the path. */
const SCHEME_AND_AUTHORITY = /^[a-z][a-z\d+.-]*:\/\/[^/?#]*/i;

/**
 * A request line may carry a whole URL (`GET http://other.example/path HTTP/1.1`, the form clients
 * send to proxies, which HTTP/1.1 servers must accept). oidc-provider takes what precedes the path in
 * the original URL for a mount path of its endpoints, so its discovery advertised another host's
 * endpoints and its sign-out redirected there. Every URL Stepgate writes comes from the public URL:
 * the target is cut to its path and query before anything reads it (the original URL too, which
 * Express has kept by now).
 */
export function originFormTarget(req: Request, _res: Response, next: NextFunction): void {
  const authority = SCHEME_AND_AUTHORITY.exec(req.url);
  if (authority) {
    const rest = req.url.slice(authority[0].length);
    req.url = rest.startsWith('/') ? rest : `/${rest}`;
    req.originalUrl = req.url;
  }
  next();
}
