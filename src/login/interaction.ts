import type { Request, Response } from 'express';
import { isDeepStrictEqual } from 'node:util';
import type { LoginRequest, LoginResult, RelyingPartySettings, User } from '../core/types.ts';
import type { Clock } from '../core/clock.ts';
import type { SessionService } from '../session/session-service.ts';
import type { SsoSession } from '../session/sso-session.ts';
import type { Csrf } from '../http/csrf.ts';
import type { BrowserBinding } from '../http/browser-binding.ts';
import type { AuditLog } from '../store/store.ts';
import type { PolicyStore } from '../policy/policy-store.ts';
import type { TrustedNetworks } from '../policy/networks.ts';
import type { MfaRegistry } from '../mfa/registry.ts';
import type { UserLookup } from '../directory/user-lookup.ts';
import type { UserMessages } from '../config/user-messages.ts';
import type { StartLimiter } from '../regulation/start-limiter.ts';
import { AppError } from '../core/errors.ts';
import { offerWayBack } from '../http/error-handler.ts';
import { ExclusiveKeys } from '../core/exclusive-keys.ts';
import { nextStep, type FlowFacts, type FlowStep } from './flow.ts';
import type { LoginTransaction, TransactionStore } from './transaction.ts';
import { stepUrl } from './step-url.ts';
import { showStep } from './step-pages.ts';
import type { RefusedStep, StepRefusal } from './step-refusal.ts';
import { AccountStanding } from './account-standing.ts';
import { TransactionBinding } from './transaction-binding.ts';
import { SignInFinished, showFinishedSignIn } from './finished-sign-in.ts';
import type { WayBack } from '../http/way-back.ts';
import type { FamiliarBrowsers, PasswordBrowser } from './familiar-browsers.ts';

/** The limit refills within a minute (regulation.signInStartsPerIpPerMinute): the user is told so, not only to wait. */
const TOO_MANY_STARTS = 'Too many sign-ins were started from your network in a short time. Wait a minute, then go back to the application and start again.';

export interface InteractionDeps {
  transactions: TransactionStore;
  /** Where a browser becomes familiar, once its sign-in is complete. */
  familiarBrowsers: FamiliarBrowsers;
  sessions: SessionService;
  csrf: Csrf;
  /** Which browser a request comes from: a sign-in belongs to the one it was opened in. */
  browserBinding: BrowserBinding;
  clock: Clock;
  audit: AuditLog;
  policies: PolicyStore;
  networks: TrustedNetworks;
  mfa: MfaRegistry;
  /** `mfa.enrollment.networks`: where a first second factor may be set up; undefined: anywhere. */
  enrollmentNetworks: readonly string[] | undefined;
  users: UserLookup;
  /** The directory's rules for a new password, in words (Directory.newPasswordRules). */
  newPasswordRules?: readonly string[];
  /** The administrator's texts for the sign-in pages. */
  messages: UserMessages;
  /** How many sign-ins a client IP may start. */
  starts: StartLimiter;
}

/** A sign-in that has its result, handed to the protocol adapter that asked for it. */
export interface FinishedSignIn {
  txId: string;
  request: LoginRequest;
  result: LoginResult;
}

/**
 * A protocol adapter's answer to a finished sign-in (a redirect, an auto-post form), sent in the response to the last step.
 * 'not-signed-in': the application was answered with an error in place of the sign-in (the OIDC layer refused its login).
 */
export type Finisher = (req: Request, res: Response, finished: FinishedSignIn) => Promise<void | 'not-signed-in'>;

/** A relying party's settings as registered now (by id); undefined once it is no longer registered. */
export type RelyingPartyLookup = (rpId: string) => Promise<RelyingPartySettings | undefined>;

/**
 * The one place that drives sign-in steps for every protocol. Protocol adapters register a finisher
 * and call `start` (first page in the same answer) or `open` (the adapter redirects to it) with a
 * LoginRequest naming it; the steps in between live in ./steps. A step's accepted form is answered
 * with a redirect to the transaction's page (`proceed`), except the last, whose answer is the
 * finisher's: the protocol's response costs no extra hop.
 */
export class LoginInteraction {
  readonly deps: InteractionDeps;
  readonly accounts: AccountStanding;
  readonly binding: TransactionBinding;
  readonly #finishers = new Map<string, Finisher>();
  readonly #relyingParties = new Map<string, RelyingPartyLookup>();
  /** Finishers whose sign-ins offer no "Cancel and go back": there is no application to go back to. */
  readonly #notCancellable = new Set<string>();
  readonly #turns = new ExclusiveKeys();
  /** Requests already counted as a sign-in start (admitStart). */
  readonly #admitted = new WeakSet<Request>();
  /** Requests already taken from their client IP's start limit (countStart). */
  readonly #counted = new WeakSet<Request>();

  constructor(deps: InteractionDeps) {
    this.deps = deps;
    this.accounts = new AccountStanding(deps);
    this.binding = new TransactionBinding(deps.transactions, deps.browserBinding);
  }

  /**
   * `relyingParties`: where the finisher's relying parties are registered. Each step then decides by
   * the policy the relying party has at that moment, so an administrator's change reaches sign-ins
   * already under way. Without it, a sign-in keeps the settings its request started with.
   * `cancellable: false`: its pages offer no "Cancel and go back" (Stepgate's own pages).
   */
  registerFinisher(name: string, finisher: Finisher, relyingParties?: RelyingPartyLookup, options: { cancellable?: boolean } = {}): void {
    if (this.#finishers.has(name)) throw new Error(`a finisher named ${name} is already registered`);
    this.#finishers.set(name, finisher);
    if (relyingParties) this.#relyingParties.set(name, relyingParties);
    if (options.cancellable === false) this.#notCancellable.add(name);
  }

  /** A step page's "Cancel and go back to <application>"; undefined when its finisher offers none. */
  cancelOption(tx: LoginTransaction): { action: string; rpName: string } | undefined {
    return this.#notCancellable.has(tx.request.handoff.finisher) ? undefined : { action: stepUrl(tx, '/cancel'), rpName: tx.request.rpName };
  }

  /** A refusal page's "Back to <application>": the cancel form with this browser's token; undefined when the finisher offers none. */
  wayBack(req: Request, res: Response, tx: LoginTransaction): WayBack | undefined {
    const cancel = this.cancelOption(tx);
    return cancel && { ...cancel, csrf: this.deps.csrf.token(req, res) };
  }

  /**
   * The user gave up: the application gets the sign-in back without a user (saml-core 3.4.1.4: an IdP
   * that cannot authenticate the presenter answers with an error status), not a page they are stuck on.
   */
  async cancel(req: Request, res: Response, tx: LoginTransaction): Promise<void> {
    if (!this.cancelOption(tx)) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'not-cancellable' } });
    const session = await this.deps.sessions.current(req);
    await this.deps.audit.record({ type: 'login.cancel', outcome: 'info', rp: tx.request.rpId, userId: session?.user.id, username: session?.user.username, ip: req.clientIp, requestId: req.requestId });
    await this.complete(req, res, tx, { ok: false, error: 'cancelled', message: 'You cancelled the sign-in.' });
  }

  /** Opens a transaction for a relying party's request and answers with its first step. */
  async start(req: Request, res: Response, request: LoginRequest): Promise<void> {
    const tx = await this.open(req, res, request);
    // Unbound: a cross-site POST whose decision waits for the GET of /login/:tx (see open).
    if (!tx.browserBinding) return res.redirect(303, stepUrl(tx));
    const session = await this.deps.sessions.current(req);
    const step = await this.stepWith(req, tx, session);
    // A page shown to someone signed in is the sign-in's use, as the GET of its page would be: it gets
    // its full life, which the setup page states. A start nobody is signed in for stays short-lived.
    if (session && step.kind !== 'complete') await this.deps.transactions.markUsed(tx.id);
    await this.show(req, res, tx, session, step);
  }

  /**
   * Refuses a sign-in start that this client IP (RATE_LIMITED) or the server (SIGN_IN_BUSY: too many
   * sign-ins open) cannot take now. `open` asks it; a protocol adapter asks it first when it would
   * otherwise write or sign something for a start that is then refused. A request is one start
   * however often it asks.
   */
  admitStart(req: Request): void {
    if (this.#admitted.has(req)) return;
    if (!this.deps.transactions.hasRoom()) throw new AppError('SIGN_IN_BUSY', { detail: { reason: 'open-sign-ins-full' } });
    this.countStart(req);
    this.#admitted.add(req);
  }

  /**
   * Takes one start from the client IP's limit (RATE_LIMITED when it has none left), without asking
   * for room among the open sign-ins: also for a request a signed-in browser's SSO session answers
   * without a page, which opens none, but writes a success to the audit log and a code to the store.
   */
  countStart(req: Request): void {
    if (this.#counted.has(req)) return;
    if (!this.deps.starts.take(req.clientIp)) throw new AppError('RATE_LIMITED', { userMessage: TOO_MANY_STARTS, detail: { reason: 'sign-in-starts-per-ip', ip: req.clientIp } });
    this.#counted.add(req);
  }

  /**
   * Opens a transaction for a relying party's request without answering: the caller sends the
   * browser to its page (Post/Redirect/Get), e.g. when the request's own URL must not stay in the
   * browser's history because it cannot be sent twice.
   */
  async open(req: Request, res: Response, request: LoginRequest): Promise<LoginTransaction> {
    if (!this.#finishers.has(request.handoff.finisher)) throw new AppError('INTERNAL', { detail: { reason: 'no-finisher', finisher: request.handoff.finisher } });
    this.admitStart(req);
    const binding = this.deps.browserBinding.existing(req);
    // A cross-site POST (SAML POST binding) carries none of this site's SameSite=Lax cookies, so the
    // session is invisible here: the transaction is bound at the GET of /login/:tx. A GET navigation
    // carries them, so a missing binding cookie means a new browser, bound here and now.
    if (!binding && req.method !== 'GET') return this.deps.transactions.create(request);
    return this.deps.transactions.create(request, binding ?? this.deps.browserBinding.ensure(req, res));
  }

  /** Answers with the transaction's next step: its page, or the protocol's response when no page is needed. */
  async advance(req: Request, res: Response, tx: LoginTransaction): Promise<void> {
    const session = await this.deps.sessions.current(req);
    await this.show(req, res, tx, session, await this.stepWith(req, tx, session));
  }

  /**
   * After a step's form was accepted: the protocol's response when the sign-in is complete, else a
   * 303 to the transaction's page (Post/Redirect/Get), so that Reload and Back repeat a GET of the
   * current step, never the form: a password sent again would start another SSO session.
   */
  async proceed(req: Request, res: Response, tx: LoginTransaction, session: SsoSession | undefined): Promise<void> {
    const step = await this.stepWith(req, tx, session);
    if (step.kind === 'complete') await this.complete(req, res, tx, step.result);
    else res.redirect(303, stepUrl(tx));
  }

  /**
   * Refuses a step's form: the refusal is kept for the step's page and the answer is a 303 to it
   * (Post/Redirect/Get, as for an accepted form), so Reload and Back never send the form again:
   * a password sent again would cost one more of the user's tries.
   */
  async refuse(res: Response, tx: LoginTransaction, refusal: StepRefusal): Promise<void> {
    await this.deps.transactions.keepRefusal(tx, refusal);
    res.redirect(303, stepUrl(tx, refusal.step === 'change-password' ? '/change-password' : ''));
  }

  /** The refusal of `step`'s form, for the page of that step, once; a refusal of another step is dropped. */
  async refusalFor<S extends RefusedStep>(tx: LoginTransaction, step: S): Promise<Extract<StepRefusal, { step: S }> | undefined> {
    const refusal = await this.deps.transactions.takeRefusal(tx.id);
    return refusal?.step === step ? (refusal as Extract<StepRefusal, { step: S }>) : undefined;
  }

  /** Answers with a step the flow decided: the finisher's response for 'complete', else the step's page. */
  async show(req: Request, res: Response, tx: LoginTransaction, session: SsoSession | undefined, step: FlowStep): Promise<void> {
    if (step.kind === 'complete') await this.complete(req, res, tx, step.result);
    else await showStep(req, res, this, step.kind === 'denied' && session ? await this.#refusalShownTo(tx, session) : tx, session, step);
  }

  /** Records whom a refusal page is shown to (LoginTransaction.refusalShownTo). */
  async #refusalShownTo(tx: LoginTransaction, session: SsoSession): Promise<LoginTransaction> {
    if (tx.refusalShownTo === session.user.id) return tx;
    const shown = { ...tx, refusalShownTo: session.user.id };
    await this.deps.transactions.save(shown);
    return shown;
  }

  /**
   * "Back to <application>" on a refusal page hands the refusal to the application, when the flow
   * still decides it now for the user it was shown to; otherwise the sign-in goes on at its current
   * step: the password, when another person has signed in on this browser since (nextStep).
   */
  async goBack(req: Request, res: Response, tx: LoginTransaction): Promise<void> {
    const session = await this.deps.sessions.current(req);
    const step = await this.stepWith(req, tx, session);
    if (step.kind === 'denied') await this.complete(req, res, tx, step.result);
    else res.redirect(303, stepUrl(tx));
  }

  /** Gathers the facts the pure flow needs (the user as the directory has them now, policy, enrolled methods, client IP) and asks it. */
  async stepWith(req: Request, tx: LoginTransaction, existing: SsoSession | undefined): Promise<FlowStep> {
    const { policies, networks, mfa, clock } = this.deps;
    const settings = await this.#registeredSettings(tx.request);
    // Removed during the sign-in: the protocol's finisher answers (an error page, audited), never the relying party.
    if (!settings) return { kind: 'complete', result: { ok: false, error: 'access_denied', message: 'The application is no longer registered.' } };
    const session = existing && (await this.#withCurrentUser(req, tx, existing));
    const facts: FlowFacts = {
      now: clock.now(),
      policy: await policies.resolve(settings.policy),
      networks,
      ip: req.clientIp,
      enrolledMethods: session ? await mfa.enrolledMethods(session.user) : [],
      enrollableMethods: mfa.enrollableMethods(),
      enrollmentNetworks: this.deps.enrollmentNetworks,
    };
    return nextStep(tx, session, facts);
  }

  /** The relying party's settings as registered now (see registerFinisher); RP_UNKNOWN once it is gone. */
  async currentSettings(request: LoginRequest): Promise<RelyingPartySettings> {
    const settings = await this.#registeredSettings(request);
    if (!settings) throw new AppError('RP_UNKNOWN', { detail: { rp: request.rpId, reason: 'removed-during-sign-in' } });
    return settings;
  }

  /** The relying party's settings as registered now; undefined once it is gone. */
  async #registeredSettings(request: LoginRequest): Promise<RelyingPartySettings | undefined> {
    const lookup = this.#relyingParties.get(request.handoff.finisher);
    return lookup ? lookup(request.rpId) : request.rp;
  }

  /**
   * Starts the SSO session of a user whose password the directory has just verified; its answer
   * stands for the next few seconds' lookups (user-lookup.ts), so the steps right after ask no more.
   * `browser`: the name typed in this browser, its familiar device and the account's forget mark from
   * before the password was checked, for when the sign-in is complete.
   */
  async startSession(req: Request, res: Response, user: User, browser: PasswordBrowser): Promise<SsoSession> {
    const now = this.deps.clock.now();
    this.deps.users.remember(user, now);
    const { session, endedForAnotherUser: ended } = await this.deps.sessions.start(req, res, user, [{ method: 'pwd', at: now }], browser.login);
    if (ended) {
      // Another person signing in on this browser ended the previous one's sign-in (their OIDC clients were told).
      await this.deps.audit.record({ type: 'session.ended', outcome: 'info', reason: 'another-user-signed-in', userId: ended.user.id, username: ended.user.username, ip: req.clientIp, requestId: req.requestId });
    }
    await this.deps.familiarBrowsers.passwordProved(session, browser);
    return session;
  }

  /**
   * The session with its user as the directory has them now (AccountStanding.current). Also for the
   * session this transaction's own password step started: its answer is reused only while it is
   * fresh (user-lookup.ts), and a user disabled or moved out of a group while at the code page (an
   * attacker with the password, phishing the code) must get nothing. A one-time account that step
   * used up reads as disabled now, yet its sign-in is the one it was for.
   */
  async #withCurrentUser(req: Request, tx: LoginTransaction, session: SsoSession): Promise<SsoSession | undefined> {
    if (tx.spentOneTimeAccount && tx.passwordSessionId === session.id) return session;
    return this.accounts.current(req, session);
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
   * Runs a request's work on transaction `id` once the requests of the same sign-in before it are
   * done, with the transaction as they left it: a step reads it, waits on the directory, then writes
   * or completes it, and a double click or a second tab must never act on the state it started from.
   */
  async withTransaction(req: Request, res: Response, id: string, work: (tx: LoginTransaction) => Promise<void>): Promise<void> {
    await this.#turns.run(id, async () => {
      const tx = await this.binding.load(req, res, id).catch(async (error: unknown) => {
        if (!(error instanceof SignInFinished)) throw error;
        await showFinishedSignIn(req, res, error, await this.deps.sessions.current(req), id);
      });
      if (!tx) return;
      offerWayBack(res, this.wayBack(req, res, tx));
      await work(tx);
    });
  }

  /**
   * Takes a step with a form's answer, in the transaction's turn (withTransaction). A form whose
   * transaction another request of this sign-in changed while it waited answers a step taken
   * meanwhile (the same password posted ten times at once): it gets that step's Post/Redirect/Get
   * answer, the transaction's page, or a finished sign-in's answer when that request completed it.
   * So the password is checked, and an SSO session started, once.
   */
  async takeStep(req: Request, res: Response, id: string, step: (tx: LoginTransaction) => Promise<void>): Promise<void> {
    const found = await this.deps.transactions.get(id);
    await this.withTransaction(req, res, id, async (tx) => {
      if (isDeepStrictEqual(tx, found)) return step(tx);
      req.log.info({ tx: id.slice(0, 8) }, 'login: another request of this sign-in took the step meanwhile; showing the current step');
      res.redirect(303, stepUrl(tx));
    });
  }

  /**
   * Ends the transaction and hands its result to the protocol's finisher, in this response. The
   * transaction is consumed first, and no save brings a consumed one back (TransactionStore.save):
   * of two concurrent submissions exactly one gets an answer. A sign-in complete for its user is
   * where the browser becomes familiar (FamiliarBrowsers): only here has it passed every step asked.
   */
  async complete(req: Request, res: Response, tx: LoginTransaction, result: LoginResult): Promise<void> {
    const finisher = this.#finishers.get(tx.request.handoff.finisher);
    if (!finisher) throw new AppError('INTERNAL', { detail: { reason: 'no-finisher', finisher: tx.request.handoff.finisher } });
    if (!(await this.deps.transactions.consume(tx.id))) throw new AppError('TRANSACTION_UNKNOWN', { detail: { tx: tx.id.slice(0, 8), reason: 'already-finished' } });
    if (result.ok) await this.deps.familiarBrowsers.signedIn(res, result);
    const answered = await finisher(req, res, { txId: tx.id, request: tx.request, result });
    // Only now is the sign-in known to have reached the application: a finisher that failed (its
    // client or SP gone meanwhile) or answered with an error must not leave Back saying it is complete.
    if (result.ok && answered !== 'not-signed-in') await this.deps.transactions.finishedAs(tx, { userId: result.user.id });
  }
}
