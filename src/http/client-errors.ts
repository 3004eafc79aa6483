import type { IncomingMessage } from 'node:http';
import { AppError } from '../core/errors.ts';

/** An error that is the client's doing, as the error code and status to log it with. */
export interface ClientError {
  appError: AppError;
  status: number;
}

/**
 * A request the client got wrong, as Express, Koa and their parsers report it (http-errors, or the
 * router's URIError for a path that does not percent-decode): a status 400-499 on the error. It is
 * answered with that status and logged as a warning without a stack: the client can send as many as it likes.
 */
export function clientError(error: unknown): ClientError | undefined {
  if (error instanceof AppError || !(error instanceof Error)) return undefined;
  const { status, statusCode, type } = error as { status?: unknown; statusCode?: unknown; type?: unknown };
  const code = typeof status === 'number' ? status : statusCode;
  if (typeof code !== 'number' || code < 400 || code > 499) return undefined;
  const detail = { reason: typeof type === 'string' ? type : error.name, message: error.message };
  const appError = new AppError(code === 413 ? 'REQUEST_TOO_LARGE' : code === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', { detail, cause: error });
  return { appError, status: code };
}

/** What a connection reports when its client hung up: a reset, an abort, a write after the close. */
const HANG_UP_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE']);

/**
 * A request whose client went away before it was answered: its connection's hang-up error, once that
 * connection is gone. Logged as body-parser reports the same on Stepgate's own routes (400,
 * `request.aborted`): the client can do it as often as it likes. The same code while the client is
 * still connected came from elsewhere (an LDAP server, a client's JWKS host) and is a fault.
 */
export function clientGone(error: Error, req: IncomingMessage): ClientError | undefined {
  const { code } = error as NodeJS.ErrnoException;
  const hangUp = HANG_UP_CODES.has(code ?? '') || error.message === 'aborted';
  if (!hangUp || !req.socket.destroyed) return undefined;
  return { appError: new AppError('BAD_REQUEST', { detail: { reason: 'request.aborted', message: error.message }, cause: error }), status: 400 };
}
