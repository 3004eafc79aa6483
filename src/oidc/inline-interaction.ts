import type { Request, Response } from 'express';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { INTERACTION_PATH } from './provider.ts';

/** Set on the request when oidc-provider's answer was a redirect to an interaction that Express now answers instead. */
const PENDING = Symbol('stepgate.pendingInteraction');

type WithPending = Request & { [PENDING]?: string };

/**
 * Koa middleware around oidc-provider's routes. Where oidc-provider would answer "303, go to the
 * interaction page", that page is sent in this same response instead: one HTTP round trip less per
 * sign-in. oidc-provider's cookies (the interaction and resume cookies, set on the response) stay;
 * only the redirect itself (status, Location, its small body) is withdrawn before Koa writes it.
 */
export function inlineInteractions() {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<void> => {
    await next();
    if (ctx.status !== 303 && ctx.status !== 302) return;
    const location = ctx.response.get('Location');
    if (!location.startsWith(`${INTERACTION_PATH}/`)) return;
    const uid = decodeURIComponent(location.slice(INTERACTION_PATH.length + 1));
    if (!uid || uid.includes('/')) return;
    ctx.respond = false;
    const res = ctx.res as Response;
    res.statusCode = 200;
    // Koa set the redirect's reason phrase with its status ("200 See Other" on the page). Empty, Node
    // writes the one of the status the page is finally sent with (200, or 429 for a refused start).
    res.statusMessage = '';
    for (const header of ['Location', 'Content-Type', 'Content-Length']) res.removeHeader(header);
    (ctx.req as WithPending)[PENDING] = uid;
  };
}

/** The interaction oidc-provider handed over in this request, if any (see inlineInteractions). */
export function pendingInteraction(req: Request): string | undefined {
  return (req as WithPending)[PENDING];
}
