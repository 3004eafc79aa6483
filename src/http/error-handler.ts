import type { NextFunction, Request, Response } from 'express';
import { AppError, toAppError } from '../core/errors.ts';
import { messagePage } from '../../views/message.ts';
import { sendPage } from './render.ts';

const TITLES: Partial<Record<AppError['code'], string>> = {
  CSRF_FAILED: 'Please try again',
  TRANSACTION_UNKNOWN: 'Sign-in expired',
  RATE_LIMITED: 'Too many attempts',
  ACCESS_DENIED: 'Access denied',
};

/** Turns anything thrown into an AppError, logs it once, and answers without internals (and, given, whom to contact). */
export function errorHandler(helpdesk: string | undefined): (error: unknown, req: Request, res: Response, next: NextFunction) => void {
  // Four parameters: that is how Express tells an error handler from other middleware.
  return (error, req, res, _next) => handleError(error, req, res, helpdesk);
}

function handleError(error: unknown, req: Request, res: Response, helpdesk: string | undefined): void {
  const appError = fromHttpError(error) ?? toAppError(error);
  const log = req.log ?? console;
  const entry = { code: appError.code, status: appError.status, detail: appError.detail, path: req.path, ip: req.clientIp, err: appError.status >= 500 ? (appError.cause ?? error) : undefined };
  if (appError.status >= 500) log.error(entry, appError.message);
  else log.warn(entry, appError.message);
  if (res.headersSent) return;
  if (wantsJson(req)) {
    res.status(appError.status).json({ error: appError.code, message: appError.userMessage, requestId: req.requestId });
    return;
  }
  sendPage(res, messagePage({ title: TITLES[appError.code] ?? 'Something went wrong', message: appError.userMessage, requestId: req.requestId, helpdesk }), appError.status);
}

/** body-parser and friends throw errors with a `type` and `status`; map the ones users can cause. */
function fromHttpError(error: unknown): AppError | undefined {
  const type = (error as { type?: string })?.type;
  if (type === 'entity.too.large' || type === 'parameters.too.many') return new AppError('REQUEST_TOO_LARGE', { cause: error });
  if (type === 'entity.parse.failed' || type === 'encoding.unsupported' || type === 'charset.unsupported') return new AppError('BAD_REQUEST', { cause: error });
  return undefined;
}

function wantsJson(req: Request): boolean {
  return req.path.startsWith('/api/') || (req.accepts(['html', 'json']) === 'json');
}
