import type { Request } from 'express';
import type { default as Provider, KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../core/log.ts';

/** Every error event oidc-provider emits for a request it refused (each route reports its own). */
const REFUSAL_EVENTS = [
  'authorization.error',
  'grant.error',
  'userinfo.error',
  'jwks.error',
  'discovery.error',
  'revocation.error',
  'introspection.error',
  'end_session.error',
  'end_session_confirm.error',
  'end_session_success.error',
] as const;

interface ProviderError extends Error {
  error?: string;
  error_description?: string;
  error_detail?: string;
  status?: number;
}

/**
 * oidc-provider answers refused requests itself (redirect, JSON or error page) and only tells through
 * events; this turns each into one structured log line, on the request's logger so it carries the
 * request id. Refusals are warnings; server errors are errors, with the stack, never shown to users.
 */
export function logProviderEvents(provider: Provider, logger: Logger): void {
  const on = provider.on.bind(provider) as (event: string, listener: (ctx: KoaContextWithOIDC, err: ProviderError) => void) => void;
  for (const event of REFUSAL_EVENTS) {
    on(event, (ctx, err) => loggerFor(ctx, logger).warn(facts(event, ctx, err), `oidc ${event}: ${err.error ?? err.message}`));
  }
  on('server_error', (ctx, err) => loggerFor(ctx, logger).error({ ...facts('server_error', ctx, err), err }, 'oidc server_error'));
  // Koa's own last-resort handler (an error that escaped oidc-provider's handlers).
  (provider as unknown as NodeJS.EventEmitter).on('error', (err: Error) => logger.error({ event: 'koa.error', err }, 'oidc unhandled error'));
}

function loggerFor(ctx: KoaContextWithOIDC, fallback: Logger): Logger {
  return (ctx.req as Request).log ?? fallback;
}

function facts(event: string, ctx: KoaContextWithOIDC, err: ProviderError): Record<string, unknown> {
  const params = (ctx.oidc?.params ?? {}) as Record<string, unknown>;
  return {
    event,
    error: err.error,
    description: err.error_description,
    detail: err.error_detail,
    status: err.status,
    route: ctx.oidc?.route,
    clientId: ctx.oidc?.client?.clientId ?? (typeof params.client_id === 'string' ? params.client_id : undefined),
    path: ctx.path,
    ip: (ctx.req as Request).clientIp,
  };
}
