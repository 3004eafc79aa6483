import type { NextFunction, Request, Response } from 'express';
import type { WarningBudget } from './warning-budget.ts';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /**
       * The server's one WarningBudget: a route thins its warnings against every other line of their
       * kind, whichever route or request wrote those.
       */
      warnings: WarningBudget;
    }
  }
}

/**
 * Hands every request the server's WarningBudget. Sign-in steps, SAML and bootstrap routes are built
 * far from app.ts; through the request they reach the same budget as the error handler without each
 * constructor on the way taking it.
 */
export function shareWarnings(warnings: WarningBudget) {
  return (req: Request, _res: Response, next: NextFunction) => {
    req.warnings = warnings;
    next();
  };
}
