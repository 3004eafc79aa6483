import type { Request } from 'express';
import type { default as Provider, KoaContextWithOIDC } from 'oidc-provider';
import type { AuditLog } from '../store/store.ts';

/** A client_id as the request gives it, kept long enough for any real one, no longer (it is the sender's text). */
const CLAIMED_CLIENT_ID_MAX_LENGTH = 128;

/**
 * Koa middleware around oidc-provider's routes: an authorization request for a client_id that is not
 * registered (never was, or removed) is answered by oidc-provider with an error page, and audited
 * here as a refused sign-in, `oidc.sign-in` failure `rp-unknown` with the client_id it named
 * (`rpClaimed`), as SAML audits an unknown issuer. A sign-in that resumes after its client was
 * removed is `rp-removed`. Failures with the client's IP: the audit log's throttle bounds a flood.
 */
export function unknownClientAudit(provider: Provider, audit: AuditLog) {
  const unknownClient = new WeakSet<KoaContextWithOIDC>();
  provider.on('authorization.error', (ctx: KoaContextWithOIDC, error: { error?: string }) => {
    if (error.error === 'invalid_client' && !ctx.oidc.client) unknownClient.add(ctx);
  });
  return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<void> => {
    await next();
    if (!unknownClient.has(ctx)) return;
    const req = ctx.req as Request;
    const claimed = ctx.oidc.params?.client_id;
    const resumed = ctx.oidc.route === 'resume';
    await audit.record({
      type: 'oidc.sign-in',
      outcome: 'failure',
      reason: resumed ? 'rp-removed' : 'rp-unknown',
      rp: typeof claimed === 'string' ? claimed.slice(0, CLAIMED_CLIENT_ID_MAX_LENGTH) : undefined,
      ...(!resumed && { rpClaimed: true }),
      ip: req.clientIp,
      requestId: req.requestId,
    });
  };
}
