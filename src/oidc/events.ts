import type { Request } from 'express';
import type { default as Provider, KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../core/log.ts';
import { warningKind, type WarningBudget } from '../http/warning-budget.ts';
import { clientError, clientGone } from '../http/client-errors.ts';
import { clipCallerText } from '../core/caller-text.ts';

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
 * request id. Refusals are warnings, thinned under a flood (`warnings`, per event and OAuth error):
 * any client can send as many as it likes. Server errors are errors, with the stack, never shown to users.
 */
export function logProviderEvents(provider: Provider, logger: Logger, warnings: WarningBudget): void {
  const on = provider.on.bind(provider) as (event: string, listener: (ctx: KoaContextWithOIDC, err: ProviderError) => void) => void;
  for (const event of REFUSAL_EVENTS) {
    on(event, (ctx, err) => {
      const log = loggerFor(ctx, logger);
      if (warnings.admit(`oidc ${event} ${err.error}`, log)) log.warn(facts(event, ctx, err), `oidc ${event}: ${err.error ?? err.message}`);
    });
  }
  on('server_error', (ctx, err) => loggerFor(ctx, logger).error({ ...facts('server_error', ctx, err), err }, 'oidc server_error'));
  // Koa's own last-resort handler (emitted as (err, ctx)): an error that escaped oidc-provider's handlers.
  // Its 'error' event is not in the Provider type's event overloads, hence the EventEmitter view.
  (provider as unknown as NodeJS.EventEmitter).on('error', (err: Error, ctx: KoaContextWithOIDC) => logUnhandled(err, ctx, logger, warnings));
}

/**
 * Mostly a client that hung up mid-request (its connection's error reaches Koa, not oidc-provider):
 * a thinned warning without a stack, as the Express error handler logs the same on Stepgate's own
 * routes, and so is an error with a 4xx status. Anything else is a fault: an error, with the stack.
 */
function logUnhandled(err: Error, ctx: KoaContextWithOIDC, fallback: Logger, warnings: WarningBudget): void {
  const log = loggerFor(ctx, fallback);
  const gone = clientGone(err, ctx.req);
  const client = gone ?? clientError(err);
  if (!client) {
    log.error({ event: 'koa.error', path: clipCallerText(ctx.path), err }, 'oidc unhandled error');
    return;
  }
  const { appError, status } = client;
  if (warnings.admit(warningKind(appError), log)) log.warn({ event: 'koa.error', code: appError.code, status, detail: appError.detail, path: clipCallerText(ctx.path), ip: (ctx.req as Request).clientIp }, gone ? 'oidc: the client went away before the answer' : 'oidc: request refused');
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
    // Until the client is found, the client_id is only what the caller typed.
    clientId: ctx.oidc?.client?.clientId ?? clipCallerText(params.client_id),
    path: clipCallerText(ctx.path),
    ip: (ctx.req as Request).clientIp,
  };
}
