import type { Request, Response } from 'express';
import type { LoginRequest, LoginResult } from '../core/types.ts';
import type { Clock } from '../core/clock.ts';
import type { SessionService } from '../session/session-service.ts';
import type { SsoSession } from '../session/sso-session.ts';
import type { Csrf } from '../http/csrf.ts';
import type { AuditLog } from '../store/store.ts';
import { AppError } from '../core/errors.ts';
import { safeEqual } from '../core/secret-box.ts';
import { nextStep, type FlowStep } from './flow.ts';
import type { LoginTransaction, TransactionStore } from './transaction.ts';

export interface InteractionDeps {
  transactions: TransactionStore;
  sessions: SessionService;
  csrf: Csrf;
  clock: Clock;
  audit: AuditLog;
}

/**
 * The one place that drives sign-in steps for every protocol. Protocol adapters call `start` with a
 * LoginRequest and later `takeResult` on their resume route; the steps in between live in ./steps.
 */
export class LoginInteraction {
  readonly deps: InteractionDeps;

  constructor(deps: InteractionDeps) {
    this.deps = deps;
  }

  /** Opens a transaction for a relying party's request and sends the browser to its next step. */
  async start(req: Request, res: Response, request: LoginRequest): Promise<void> {
    const binding = this.deps.csrf.existingBinding(req);
    const tx = await this.deps.transactions.create(request, binding);
    // Without a binding cookie (first visit, or a cross-site POST that carries no cookies) the
    // decision waits for the GET of /login/:tx, where this browser's cookies are visible.
    if (!binding) {
      res.redirect(303, stepUrl(tx));
      return;
    }
    await this.advance(req, res, tx);
  }

  /** Completes the transaction when no page is needed (redirect to the protocol), else redirects to the step page. */
  async advance(req: Request, res: Response, tx: LoginTransaction): Promise<void> {
    const step = await this.step(req, tx);
    if (step.kind === 'complete') await this.complete(res, tx, step.result);
    else res.redirect(303, stepUrl(tx));
  }

  /** Same as advance, with a session just started in this request (its cookie is not back yet). */
  async advanceWith(res: Response, tx: LoginTransaction, session: SsoSession): Promise<void> {
    const step = nextStep(tx, session, this.deps.clock.now());
    if (step.kind === 'complete') await this.complete(res, tx, step.result);
    else res.redirect(303, stepUrl(tx));
  }

  async step(req: Request, tx: LoginTransaction): Promise<FlowStep> {
    return nextStep(tx, await this.deps.sessions.current(req), this.deps.clock.now());
  }

  async complete(res: Response, tx: LoginTransaction, result: LoginResult): Promise<void> {
    await this.deps.transactions.save({ ...tx, result });
    res.redirect(303, resumeUrl(tx));
  }

  /** Loads a transaction for this browser, binding it on first use. */
  async load(req: Request, res: Response, id: string): Promise<LoginTransaction> {
    const tx = await this.deps.transactions.get(id);
    if (!tx || tx.result) throw new AppError('TRANSACTION_UNKNOWN', { detail: { tx: id.slice(0, 8), finished: !!tx?.result } });
    const binding = this.deps.csrf.binding(req, res);
    if (!tx.browserBinding) {
      const bound = { ...tx, browserBinding: binding };
      await this.deps.transactions.save(bound);
      return bound;
    }
    if (!safeEqual(tx.browserBinding, binding)) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'other-browser' } });
    return tx;
  }

  /**
   * Hands the finished result to the protocol adapter, once. The result only counts while the SSO
   * session it was issued for is still alive (a logout in between voids it).
   */
  async takeResult(req: Request, id: string, protocol: LoginRequest['protocol']): Promise<{ request: LoginRequest; result: LoginResult }> {
    const tx = await this.deps.transactions.consume(id);
    const binding = this.deps.csrf.existingBinding(req);
    if (!tx?.result || tx.request.protocol !== protocol || !tx.browserBinding || !binding || !safeEqual(tx.browserBinding, binding)) {
      throw new AppError('TRANSACTION_UNKNOWN', { detail: { tx: id.slice(0, 8), reason: 'no-result-or-other-browser' } });
    }
    if (tx.result.ok) {
      const session = await this.deps.sessions.current(req);
      if (!session || session.id !== tx.result.sessionId) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'session-ended' } });
    }
    return { request: tx.request, result: tx.result };
  }
}

export function stepUrl(tx: LoginTransaction, suffix = ''): string {
  return `/login/${encodeURIComponent(tx.id)}${suffix}`;
}

function resumeUrl(tx: LoginTransaction): string {
  const separator = tx.request.resumePath.includes('?') ? '&' : '?';
  return `${tx.request.resumePath}${separator}tx=${encodeURIComponent(tx.id)}`;
}
