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
import { stepUrl } from './step-url.ts';
import { showStep } from './step-pages.ts';

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

/** A sign-in that has its result, handed to the protocol adapter that asked for it. */
export interface FinishedSignIn {
  txId: string;
  request: LoginRequest;
  result: LoginResult;
}

/** A protocol adapter's answer to a finished sign-in (a redirect, an auto-post form), sent in the response to the last step. */
export type Finisher = (req: Request, res: Response, finished: FinishedSignIn) => Promise<void>;

/**
 * The one place that drives sign-in steps for every protocol. Protocol adapters register a finisher
 * and call `start` with a LoginRequest naming it; the steps in between live in ./steps. Each answer
 * is the next page itself, and the last step's answer is the finisher's, so a sign-in costs the
 * browser no extra redirect hops.
 */
export class LoginInteraction {
  readonly deps: InteractionDeps;
  readonly #finishers = new Map<string, Finisher>();

  constructor(deps: InteractionDeps) {
    this.deps = deps;
  }

  registerFinisher(name: string, finisher: Finisher): void {
    if (this.#finishers.has(name)) throw new Error(`a finisher named ${name} is already registered`);
    this.#finishers.set(name, finisher);
  }

  /** Opens a transaction for a relying party's request and answers with its first step. */
  async start(req: Request, res: Response, request: LoginRequest): Promise<void> {
    if (!this.#finishers.has(request.handoff.finisher)) throw new AppError('INTERNAL', { detail: { reason: 'no-finisher', finisher: request.handoff.finisher } });
    const binding = this.deps.csrf.existingBinding(req);
    // A cross-site POST (SAML POST binding) carries none of this site's SameSite=Lax cookies, so the
    // session is invisible here: the decision waits for the GET of /login/:tx. A GET navigation
    // carries them, so a missing binding cookie means a new browser, bound here and now.
    if (!binding && req.method !== 'GET') {
      res.redirect(303, stepUrl(await this.deps.transactions.create(request)));
      return;
    }
    const tx = await this.deps.transactions.create(request, binding ?? this.deps.csrf.binding(req, res));
    await this.advance(req, res, tx);
  }

  /** Answers with the transaction's next step: its page, or the protocol's response when no page is needed. */
  async advance(req: Request, res: Response, tx: LoginTransaction): Promise<void> {
    await this.advanceWith(req, res, tx, await this.deps.sessions.current(req));
  }

  /** Same as advance, with a session started or changed in this request (its cookie may not be back yet). */
  async advanceWith(req: Request, res: Response, tx: LoginTransaction, session: SsoSession | undefined): Promise<void> {
    await this.show(req, res, tx, session, await this.stepWith(req, tx, session));
  }

  /** Answers with a step the flow decided: the finisher's response for 'complete', else the step's page. */
  async show(req: Request, res: Response, tx: LoginTransaction, session: SsoSession | undefined, step: FlowStep): Promise<void> {
    if (step.kind === 'complete') await this.complete(req, res, tx, step.result);
    else await showStep(req, res, this, tx, session, step);
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

  /**
   * Ends the transaction and hands its result to the protocol's finisher, in this response. The
   * transaction is consumed first, so of two concurrent submissions exactly one gets an answer.
   */
  async complete(req: Request, res: Response, tx: LoginTransaction, result: LoginResult): Promise<void> {
    const finisher = this.#finishers.get(tx.request.handoff.finisher);
    if (!finisher) throw new AppError('INTERNAL', { detail: { reason: 'no-finisher', finisher: tx.request.handoff.finisher } });
    if (!(await this.deps.transactions.consume(tx.id))) throw new AppError('TRANSACTION_UNKNOWN', { detail: { tx: tx.id.slice(0, 8), reason: 'already-finished' } });
    await finisher(req, res, { txId: tx.id, request: tx.request, result });
  }

  /** Loads a transaction for this browser, binding it on first use. */
  async load(req: Request, res: Response, id: string): Promise<LoginTransaction> {
    const tx = await this.deps.transactions.get(id);
    if (!tx) throw new AppError('TRANSACTION_UNKNOWN', { detail: { tx: id.slice(0, 8) } });
    const binding = this.deps.csrf.binding(req, res);
    if (!tx.browserBinding) {
      const bound = { ...tx, browserBinding: binding };
      await this.deps.transactions.save(bound);
      return bound;
    }
    if (!safeEqual(tx.browserBinding, binding)) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'other-browser' } });
    return tx;
  }
}
