import type { Request, RequestHandler, Response } from 'express';
import { pendingInteraction } from './inline-interaction.ts';
import type Provider from 'oidc-provider';
import { ROUTES } from './provider.ts';

const PROVIDER_ROUTES: readonly string[] = Object.values(ROUTES);

/** Requests oidc-provider answers: discovery at the issuer's well-known path, and its routes (and their sub-paths). */
export function isProviderPath(path: string): boolean {
  return path === '/.well-known/openid-configuration' || PROVIDER_ROUTES.some((route) => path === route || path.startsWith(`${route}/`));
}

/**
 * Hands oidc-provider's requests to it (it is a Koa app) from inside Express.
 *
 * Koa can only trust all forwarded headers or none; Express already decided, per configured proxy
 * CIDR, which client address to believe. So Koa is told to trust the headers and they are set here:
 * the scheme and host of the public URL (the issuer never depends on a Host header, which also makes
 * cookies Secure exactly when the public URL is https, as Stepgate's own cookies are) and the client
 * address Express computed.
 */
export function providerBridge(provider: Provider, publicUrl: string, startInteraction: (req: Request, res: Response, uid: string) => Promise<void>): RequestHandler {
  const handle = provider.callback();
  const { protocol, host } = new URL(publicUrl);
  provider.proxy = true;
  return (req, res, next) => {
    if (!isProviderPath(req.path)) return next();
    pinForwardedHeaders(req, protocol.slice(0, -1), host);
    allowHashedScripts(res);
    handle(req, res)
      .then(() => {
        const uid = pendingInteraction(req);
        return uid === undefined ? undefined : startInteraction(req, res, uid);
      })
      .catch(next);
  };
}

function pinForwardedHeaders(req: Request, protocol: string, host: string): void {
  req.headers['x-forwarded-proto'] = protocol;
  req.headers['x-forwarded-host'] = host;
  req.headers['x-forwarded-for'] = req.clientIp;
}

/**
 * oidc-provider's auto-submitting pages (form_post responses, logout without a session) add the
 * hash of their one inline script to `script-src`, but only when that directive exists.
 */
function allowHashedScripts(res: Parameters<RequestHandler>[1]): void {
  const csp = res.getHeader('Content-Security-Policy');
  if (typeof csp === 'string' && !/(^|;)\s*script-src\b/.test(csp)) res.setHeader('Content-Security-Policy', `${csp}; script-src 'self'`);
}
