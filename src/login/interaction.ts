import type { Request, Response } from 'express';
import type { LoginRequest, LoginResult } from '../core/types.ts';
import type { Clock } from '../core/clock.ts';
import type { SessionService } from '../session/session-service.ts';
import type { SsoSession } from '../session/sso-session.ts';
import type { Csrf } from '../http/csrf.ts';
import type { AuditLog } from '../store/store.ts';
import type { PolicyStore } from '../policy/policy-store.ts';
import type { TrustedNetworks } from '../policy/networks.ts';
import type { MfaRegistry } from '../mfa/registry.ts';
import { AppError } from '../core/errors.ts';
import { safeEqual } from '../core/secret-box.ts';
import { nextStep, type FlowFacts, type FlowStep } from './flow.ts';
import type { LoginTransaction, TransactionStore } from './transaction.ts';

export interface InteractionDeps {
  transactions: TransactionStore;
  sessions: SessionService;
  csrf: Csrf;
  clock: Clock;
  audit: AuditLog;
  policies: PolicyStore;
  networks: TrustedNetworks;
  mfa: MfaRegistry;
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
    await this.advanceWith(req, res, tx, await this.deps.sessions.current(req));
  }

  /** Same as advance, with a session started or changed in this request (its cookie may not be back yet). */
  async advanceWith(req: Request, res: Response, tx: LoginTransaction, session: SsoSession | undefined): Promise<void> {
    const step = await this.stepWith(req, tx, session);
    if (step.kind === 'complete') await this.complete(res, tx, step.result);
    else res.redirect(303, stepUrl(tx));
  }

  async step(req: Request, tx: LoginTransaction): Promise<FlowStep> {
    return this.stepWith(req, tx, await this.deps.sessions.current(req));
  }

  /** Gathers the facts the pure flow needs (policy, enrolled methods, client IP) and asks it. */
  async stepWith(req: Request, tx: LoginTransaction, session: SsoSession | undefined): Promise<FlowStep> {
    const { policies, networks, mfa, clock } = this.deps;
    const facts: FlowFacts = {
      now: clock.now(),
      policy: await policies.resolve(tx.request.rp.policy),
      networks,
      ip: req.clientIp,
      enrolledMethods: session ? await mfa.enrolledMethods(session.user) : [],
      enrollableMethods: mfa.enrollableMethods(),
    };
    return nextStep(tx, session, facts);
  }

  /**
   * What the flow would do for `request` with this session, without a transaction: for protocol
   * adapters that check whether an existing session can answer silently.
   */
  async preview(req: Request, request: LoginRequest, session: SsoSession | undefined): Promise<FlowStep> {
    return this.stepWith(req, { id: 'preview', request, createdAt: this.deps.clock.now() }, session);
  }

  /**
   * Records which session and user an MFA step is shown for; answers are accepted only from them.
   * Showing the step again for another session (after logout and a new sign-in) rebinds it.
   */
  async bindMfa(tx: LoginTransaction, session: SsoSession): Promise<LoginTransaction> {
    if (tx.mfa?.sessionId === session.id && tx.mfa.userId === session.user.id) return tx;
    const bound = { ...tx, mfa: { sessionId: session.id, userId: session.user.id } };
    await this.deps.transactions.save(bound);
    return bound;
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
