import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * RFC 6749 5.1: a token response carries `Pragma: no-cache` beside `Cache-Control: no-store`, for
 * HTTP/1.0 caches. oidc-provider sets only the latter; every response it marks no-store gets both.
 */
export async function noCachePragma(ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<void> {
  await next();
  if (/\bno-store\b/.test(ctx.response.get('cache-control'))) ctx.set('pragma', 'no-cache');
}
