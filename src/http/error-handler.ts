import type { NextFunction, Request, Response } from 'express';
import { AppError, errorTitle, toAppError } from '../core/errors.ts';
import { warningKind, type WarningBudget } from './warning-budget.ts';
import { clientError } from './client-errors.ts';
import { clipCallerText } from '../core/caller-text.ts';
import { messagePage } from '../../views/message.ts';
import type { WayBack } from './way-back.ts';
import { sendPage } from './render.ts';

/** Errors after which a sign-in's "Back to <application>" cannot work: it is gone, or its forms are refused. */
const NO_WAY_BACK: ReadonlySet<AppError['code']> = new Set(['TRANSACTION_UNKNOWN', 'CSRF_FAILED', 'COOKIES_BLOCKED']);

/**
 * Says that this request works inside a sign-in that can still be handed back to its application:
 * an error page then offers "Back to <application>" (as Cancel), so the user is not stranded.
 */
export function offerWayBack(res: Response, wayBack: WayBack | undefined): void {
  res.locals.signInWayBack = wayBack;
}

const EXPECTED_UNDER_LOAD: ReadonlySet<AppError['code']> = new Set(['SIGN_IN_BUSY']);

/**
 * Turns anything thrown into an AppError, logs it once, and answers without internals (and, given,
 * whom to contact). `warnings` is shared with oidc-provider's log lines (oidc/events.ts): a flood of
 * one kind is one flood whichever framework answered it.
 */
export function errorHandler(helpdesk: string | undefined, warnings: WarningBudget): (error: unknown, req: Request, res: Response, next: NextFunction) => void {
  // Four parameters: that is how Express tells an error handler from other middleware.
  return (error, req, res, _next) => handleError(error, req, res, helpdesk, warnings);
}

function handleError(error: unknown, req: Request, res: Response, helpdesk: string | undefined, warnings: WarningBudget): void {
  const client = clientError(error);
  const appError = client?.appError ?? toAppError(error);
  const status = client?.status ?? appError.status;
  const log = req.log ?? console;
  // Busy (a flood's share of the password checks or the open sign-ins) is the server protecting itself, not a fault: a thinned warning without a stack.
  const fault = status >= 500 && !EXPECTED_UNDER_LOAD.has(appError.code);
  // The stack of what went wrong. An AppError of a known condition without a cause (a directory
  // outage) has none worth writing: its throw site says nothing an admin can act on. INTERNAL is never known.
  const stack = appError.cause ?? (appError.code === 'INTERNAL' ? error : undefined);
  const entry = { code: appError.code, status, detail: appError.detail, path: clipCallerText(req.path), ip: req.clientIp, err: fault ? stack : undefined };
  // For the admin, not the user's page text ("Go back…"): what happened, as the code (and reason) says it.
  const kind = warningKind(appError);
  if (fault) log.error(entry, `request failed: ${kind}`);
  else if (warnings.admit(kind, log)) log.warn(entry, `request refused: ${kind}`);
  if (res.headersSent) return;
  if (wantsJson(req)) {
    res.status(status).json({ error: appError.code, message: appError.userMessage, requestId: req.requestId });
    return;
  }
  const wayBack = NO_WAY_BACK.has(appError.code) ? undefined : (res.locals.signInWayBack as WayBack | undefined);
  sendPage(res, messagePage({ title: appError.userTitle ?? errorTitle(appError.code), message: appError.userMessage, requestId: req.requestId, wayBack, helpdesk }), status);
}

function wantsJson(req: Request): boolean {
  return req.path.startsWith('/api/') || (req.accepts(['html', 'json']) === 'json');
}
