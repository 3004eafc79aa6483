import type { KeyValue, SetOptions } from '../store/store.ts';
import type { Clock } from '../core/clock.ts';
import type { LoginRequest } from '../core/types.ts';
import type { AccountState } from '../directory/directory.ts';
import { randomId } from '../core/ids.ts';
import { AppError } from '../core/errors.ts';
import type { StepRefusal } from './step-refusal.ts';

const NAMESPACE = 'login-tx';
const EXPIRED_NAMESPACE = 'login-tx-expired';
const REFUSAL_NAMESPACE = 'login-tx-refusal';
const TYPED_NAME_NAMESPACE = 'login-tx-typed-name';
/** How long a sign-in may take once used (its pages say so where it matters: a setup that takes a while). */
export const SIGN_IN_LIFETIME_SECONDS = 15 * 60;
/**
 * The life of a transaction that nothing used since its start (no password posted, no page of it
 * loaded, none shown to a signed-in user in the answer that started it): anyone can open one with a
 * link, and a flood of starts is only that. The first use gives it its full SIGN_IN_LIFETIME_SECONDS;
 * until then its browser is told where to go back to, as after expiry.
 */
const UNUSED_LIFETIME_SECONDS = 5 * 60;
/**
 * How long after its start a transaction is still remembered, only so that its browser can be told
 * which application to go back to (a sign-in left open over lunch), or that it finished (the
 * browser's Back after signing in); it can no longer be used. Only that (the application's name,
 * the browser, whom it signed in) is kept this long, not the transaction.
 */
const REMEMBERED_SECONDS = 60 * 60;
/**
 * At most this many are remembered; the oldest are forgotten first (their browsers get the plain
 * "not valid" page). Every start leaves such a record, for longer than its life, so the cap on open
 * sign-ins does not bound them: a flood of starts from many addresses would.
 */
const MAX_REMEMBERED_SIGN_INS = 100_000;
/**
 * Sign-ins open at once in this process. Each holds its transaction and its protocol's state
 * (oidc-provider's interaction, a pending SAML request) in memory; the start limiter bounds one
 * client IP, this bounds them all (flooded from many addresses, memory grew by 1.3 KB a start
 * without end). Beyond it new starts are refused (SIGN_IN_BUSY) rather than older ones evicted:
 * a user on the first page cannot be told from junk, and a refused start keeps nothing, while an
 * evicted transaction would leave its protocol's state behind.
 */
export const MAX_OPEN_SIGN_INS = 50_000;

/**
 * The account whose password the password step verified, for the change of that password: by its
 * `id`, the only name that leads back to this account and no other (a username need not: see
 * Directory.changePassword). `username`: shown on the change form; `login`: the name typed at the
 * password step, whose name lock and familiar device the change form's tries are counted on.
 */
export interface VerifiedAccount {
  id: string;
  username: string;
  login: string;
}

/** One sign-in attempt for one relying-party request, from the protocol's request to its result. */
export interface LoginTransaction {
  id: string;
  request: LoginRequest;
  /** The browser this transaction belongs to (binding cookie); bound on first use. */
  browserBinding?: string;
  createdAt: number;
  /**
   * The SSO session whose password was verified within this transaction (ForceAuthn, max_age,
   * prompt=login). Bound to the session, so a later session of this browser does not inherit it.
   */
  passwordSessionId?: string;
  /** The password step of this transaction used up a one-time account (see AuthOutcome). */
  spentOneTimeAccount?: boolean;
  /**
   * The session and user a second-factor step was shown for. MFA answers are accepted only from that
   * session: not after a logout, and not for a transaction that never showed the step.
   */
  mfa?: { sessionId: string; userId: string };
  /**
   * The user a refusal page ("Access denied") was shown to. While another user is signed in, this
   * sign-in asks for a password before it goes on (nextStep): its pages, reloaded or reached with the
   * browser's Back after that person signed in in another tab, must never complete it as them unasked.
   */
  refusalShownTo?: string;
  /**
   * Password verified, but it must be changed before the sign-in can go on. `heldBindId`: the directory
   * kept the sign-in's bound connection for the change (see AuthOutcome).
   */
  pendingPasswordChange?: { account: VerifiedAccount; state: Extract<AccountState, 'password-expired' | 'must-change'>; heldBindId?: string };
  /** Password verified and still valid, but expiring soon: warn once (and offer the change, for `account`). */
  pendingExpiryWarning?: { days: number; account: VerifiedAccount };
  /**
   * Backup codes the enrollment in this sign-in just issued to this user, shown again (a reload, the
   * answer to a second click) until the user continues. In memory only, never past the transaction's life.
   */
  pendingBackupCodes?: { codes: string[]; userId: string; sessionId: string };
  /**
   * The second factor of this sign-in was a backup code: the user is told it is used up, how many are
   * left and where to make new ones, until they continue. Only to the session and user it was used in.
   */
  pendingBackupCodeNotice?: { left: number; userId: string; sessionId: string };
  /** The ended session of this sign-in that its password page has told the user about (signed-out-notice.ts). */
  signedOutTold?: string;
}

/** How a sign-in ended: with its answer to the application, and the user it signed in (none: refused or cancelled). */
export interface FinishedAs {
  userId?: string;
}

/** What is remembered of a transaction after its life (see REMEMBERED_SECONDS). */
export interface ExpiredTransaction {
  request: Pick<LoginRequest, 'rpId' | 'rpName'>;
  browserBinding?: string;
  /** It did not run out: it finished (consume). Its browser, back on one of its pages, is told so. */
  finished?: FinishedAs;
}

export class TransactionStore {
  readonly #kv: KeyValue;
  readonly #clock: Clock;
  /**
   * Open transactions (id → end of life), counted against MAX_OPEN_SIGN_INS; unused ones (see
   * UNUSED_LIFETIME_SECONDS) apart. Ended ones are dropped from each map's front. In #unused the
   * oldest entry ends first; #used is in order of first use, which can differ from the order of ends
   * by up to the unused lifetime, so an ended entry behind a live one is counted a little longer:
   * that only makes the cap stricter for those minutes.
   */
  readonly #unused = new Map<string, number>();
  readonly #used = new Map<string, number>();
  /** Remembered transactions (id → end of memory), oldest first: MAX_REMEMBERED_SIGN_INS. */
  readonly #remembered = new Map<string, number>();
  readonly #maxRemembered: number;

  /** `maxRemembered`: tests lower MAX_REMEMBERED_SIGN_INS. */
  constructor(kv: KeyValue, clock: Clock, options: { maxRemembered?: number } = {}) {
    this.#kv = kv;
    this.#clock = clock;
    this.#maxRemembered = options.maxRemembered ?? MAX_REMEMBERED_SIGN_INS;
  }

  /** Whether another sign-in may open now (MAX_OPEN_SIGN_INS). */
  hasRoom(): boolean {
    const now = this.#clock.now();
    dropEnded(this.#unused, now);
    dropEnded(this.#used, now);
    return this.#unused.size + this.#used.size < MAX_OPEN_SIGN_INS;
  }

  async create(request: LoginRequest, browserBinding?: string): Promise<LoginTransaction> {
    const tx: LoginTransaction = { id: randomId(), request, browserBinding, createdAt: this.#clock.now() };
    this.#unused.set(tx.id, tx.createdAt + UNUSED_LIFETIME_SECONDS * 1000);
    await Promise.all([this.#kv.set(NAMESPACE, tx.id, tx, this.#storeOptions(tx)), this.#remember(tx)]);
    return tx;
  }

  /** Whether nothing used this transaction since its start (see UNUSED_LIFETIME_SECONDS). */
  isUnused(id: string): boolean {
    return this.#unused.has(id);
  }

  /** A transaction that can still be used; its first use gives it its full life. */
  async get(id: string): Promise<LoginTransaction | undefined> {
    const tx = await this.#kv.get<LoginTransaction>(NAMESPACE, id);
    if (!tx || this.#isExpired(tx)) return undefined;
    if (this.#unused.delete(id)) {
      this.#used.set(id, tx.createdAt + SIGN_IN_LIFETIME_SECONDS * 1000);
      await this.#kv.compareAndSet(NAMESPACE, id, tx, tx, this.#storeOptions(tx));
    }
    return tx;
  }

  /** A page of the transaction was shown without loading it (in the answer that started it): its first use, as `get` counts one. */
  async markUsed(id: string): Promise<void> {
    await this.get(id);
  }

  /** A transaction whose life is over (it ran out, or `finished`) but that is still remembered (see REMEMBERED_SECONDS). */
  async expired(id: string): Promise<ExpiredTransaction | undefined> {
    const tx = await this.#kv.get<LoginTransaction>(NAMESPACE, id);
    if (tx && !this.#isExpired(tx)) return undefined;
    return this.#kv.get<ExpiredTransaction>(EXPIRED_NAMESPACE, id);
  }

  /**
   * Writes a changed transaction only while it can still be used: a request that read it before it
   * was completed (or expired) must not bring it back, to be completed once more.
   */
  async save(tx: LoginTransaction): Promise<void> {
    const stored = await this.#kv.get<LoginTransaction>(NAMESPACE, tx.id);
    const written = stored !== undefined && !this.#isExpired(stored) && (await this.#kv.compareAndSet(NAMESPACE, tx.id, stored, tx, this.#storeOptions(tx)));
    if (!written) throw new AppError('TRANSACTION_UNKNOWN', { detail: { tx: tx.id.slice(0, 8), reason: 'closed-meanwhile' } });
    if (tx.browserBinding !== stored.browserBinding) await this.#remember(tx);
  }

  /**
   * Keeps a step's refusal for the page the form's answer redirects to (see StepRefusal). Beside the
   * transaction, not in it: a refused form leaves the transaction as it was, so forms of this sign-in
   * sent at the same moment are each checked (takeStep).
   */
  async keepRefusal(tx: LoginTransaction, refusal: StepRefusal): Promise<void> {
    await this.#kv.set(REFUSAL_NAMESPACE, tx.id, refusal, this.#storeOptions(tx));
    if (refusal.step !== 'password') return;
    // The refusal is shown once; the name typed stays for the form after it (Reload, Back and Forward).
    // Not after an account refusal: its page's "Sign in with another account" is for another name.
    if (refusal.username && !refusal.account) await this.#kv.set(TYPED_NAME_NAMESPACE, tx.id, refusal.username, this.#storeOptions(tx));
    else await this.#kv.delete(TYPED_NAME_NAMESPACE, tx.id);
  }

  /** The username of this transaction's last refused password form, kept after its refusal was shown (never a password). */
  async typedName(id: string): Promise<string | undefined> {
    return this.#kv.get<string>(TYPED_NAME_NAMESPACE, id);
  }

  /** The refusal kept for this transaction's next page, once. */
  async takeRefusal(id: string): Promise<StepRefusal | undefined> {
    return this.#kv.consume<StepRefusal>(REFUSAL_NAMESPACE, id);
  }

  /**
   * Ends a transaction for the one request that gets it. What is remembered of it stays, marked
   * `finished` with nobody signed in until finishedAs says whom: the browser's Back leads to its
   * pages again, and must be told that the sign-in is done, not that it expired, while nothing of it
   * can be used or answered again.
   */
  async consume(id: string): Promise<LoginTransaction | undefined> {
    this.#unused.delete(id);
    this.#used.delete(id);
    const [tx] = await Promise.all([this.#kv.consume<LoginTransaction>(NAMESPACE, id), this.#kv.delete(REFUSAL_NAMESPACE, id), this.#kv.delete(TYPED_NAME_NAMESPACE, id)]);
    if (!tx || this.#isExpired(tx)) return undefined;
    const remembered = await this.#kv.get<ExpiredTransaction>(EXPIRED_NAMESPACE, id);
    // Not when another start forgot it while this read it: it would be kept beyond MAX_REMEMBERED_SIGN_INS.
    if (remembered && this.#remembered.has(id)) await this.#kv.set(EXPIRED_NAMESPACE, id, { ...remembered, finished: {} }, this.#rememberedOptions(tx));
    return tx;
  }

  /**
   * What a consumed transaction's browser is told it finished as, once its answer has gone to the
   * application. Only a record still remembered is changed: one forgotten meanwhile stays forgotten.
   */
  async finishedAs(tx: LoginTransaction, finished: FinishedAs): Promise<void> {
    const remembered = await this.#kv.get<ExpiredTransaction>(EXPIRED_NAMESPACE, tx.id);
    if (remembered?.finished && this.#remembered.has(tx.id)) await this.#kv.set(EXPIRED_NAMESPACE, tx.id, { ...remembered, finished }, this.#rememberedOptions(tx));
  }

  /** Short-lived and cheap to redo: kept in memory only, never a disk write per sign-in. Gone from memory at its end. */
  #storeOptions(tx: LoginTransaction): SetOptions {
    return { ttlSeconds: Math.max(1, Math.ceil((this.#endOf(tx) - this.#clock.now()) / 1000)), durable: false };
  }

  async #remember(tx: LoginTransaction): Promise<void> {
    const remembered: ExpiredTransaction = { request: { rpId: tx.request.rpId, rpName: tx.request.rpName }, ...(tx.browserBinding ? { browserBinding: tx.browserBinding } : {}) };
    await this.#kv.set(EXPIRED_NAMESPACE, tx.id, remembered, this.#rememberedOptions(tx));
    if (this.#remembered.has(tx.id)) return;
    this.#remembered.set(tx.id, tx.createdAt + REMEMBERED_SECONDS * 1000);
    dropEnded(this.#remembered, this.#clock.now());
    const forgotten: Array<Promise<unknown>> = [];
    for (const [id] of this.#remembered) {
      if (this.#remembered.size <= this.#maxRemembered) break;
      this.#remembered.delete(id);
      forgotten.push(this.#kv.delete(EXPIRED_NAMESPACE, id));
    }
    await Promise.all(forgotten);
  }

  #rememberedOptions(tx: LoginTransaction): SetOptions {
    const until = tx.createdAt + REMEMBERED_SECONDS * 1000;
    return { ttlSeconds: Math.max(1, Math.ceil((until - this.#clock.now()) / 1000)), durable: false };
  }

  #endOf(tx: LoginTransaction): number {
    return tx.createdAt + (this.#unused.has(tx.id) ? UNUSED_LIFETIME_SECONDS : SIGN_IN_LIFETIME_SECONDS) * 1000;
  }

  #isExpired(tx: LoginTransaction): boolean {
    return this.#clock.now() >= this.#endOf(tx);
  }
}

/** Drops the entries whose end has come, from the front (oldest first); stops at the first still open. */
function dropEnded(open: Map<string, number>, now: number): void {
  for (const [id, end] of open) {
    if (end > now) return;
    open.delete(id);
  }
}
