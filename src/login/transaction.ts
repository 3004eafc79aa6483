import type { KeyValue, SetOptions } from '../store/store.ts';
import type { Clock } from '../core/clock.ts';
import type { LoginRequest } from '../core/types.ts';
import type { AccountState } from '../directory/directory.ts';
import { randomId } from '../core/ids.ts';
import { AppError } from '../core/errors.ts';

const NAMESPACE = 'login-tx';
const LIFETIME_SECONDS = 15 * 60;
/**
 * How long an expired transaction is still remembered, only so that its browser can be told which
 * application to go back to (a sign-in left open over lunch); it can no longer be used.
 */
const REMEMBERED_AFTER_EXPIRY_SECONDS = 45 * 60;

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
   * Password verified, but it must be changed before the sign-in can go on. `heldBindId`: the directory
   * kept the sign-in's bound connection for the change (see AuthOutcome).
   */
  pendingPasswordChange?: { username: string; state: Extract<AccountState, 'password-expired' | 'must-change'>; heldBindId?: string };
  /** Password verified and still valid, but expiring soon: warn once. */
  pendingExpiryWarning?: { days: number; username: string };
  /**
   * Backup codes the enrollment in this sign-in just issued to this user, shown again (a reload, the
   * answer to a second click) until the user continues. In memory only, never past the transaction's life.
   */
  pendingBackupCodes?: { codes: string[]; userId: string; sessionId: string };
}

export class TransactionStore {
  readonly #kv: KeyValue;
  readonly #clock: Clock;

  constructor(kv: KeyValue, clock: Clock) {
    this.#kv = kv;
    this.#clock = clock;
  }

  async create(request: LoginRequest, browserBinding?: string): Promise<LoginTransaction> {
    const tx: LoginTransaction = { id: randomId(), request, browserBinding, createdAt: this.#clock.now() };
    await this.#kv.set(NAMESPACE, tx.id, tx, this.#storeOptions(tx));
    return tx;
  }

  /** A transaction that can still be used. */
  async get(id: string): Promise<LoginTransaction | undefined> {
    const tx = await this.#kv.get<LoginTransaction>(NAMESPACE, id);
    return tx && !this.#isExpired(tx) ? tx : undefined;
  }

  /** A transaction whose life is over but that is still remembered (see REMEMBERED_AFTER_EXPIRY_SECONDS). */
  async expired(id: string): Promise<LoginTransaction | undefined> {
    const tx = await this.#kv.get<LoginTransaction>(NAMESPACE, id);
    return tx && this.#isExpired(tx) ? tx : undefined;
  }

  /**
   * Writes a changed transaction only while it can still be used: a request that read it before it
   * was completed (or expired) must not bring it back, to be completed once more.
   */
  async save(tx: LoginTransaction): Promise<void> {
    const stored = await this.#kv.get<LoginTransaction>(NAMESPACE, tx.id);
    const written = stored !== undefined && !this.#isExpired(stored) && (await this.#kv.compareAndSet(NAMESPACE, tx.id, stored, tx, this.#storeOptions(tx)));
    if (!written) throw new AppError('TRANSACTION_UNKNOWN', { detail: { tx: tx.id.slice(0, 8), reason: 'closed-meanwhile' } });
  }

  #storeOptions(tx: LoginTransaction): SetOptions {
    // Backup codes in clear are never kept past the sign-in's own life.
    const keptSeconds = tx.pendingBackupCodes ? LIFETIME_SECONDS : LIFETIME_SECONDS + REMEMBERED_AFTER_EXPIRY_SECONDS;
    const remaining = Math.ceil((tx.createdAt + keptSeconds * 1000 - this.#clock.now()) / 1000);
    // Short-lived and cheap to redo: kept in memory only, never a disk write per sign-in.
    return { ttlSeconds: Math.max(1, remaining), durable: false };
  }

  async consume(id: string): Promise<LoginTransaction | undefined> {
    const tx = await this.#kv.consume<LoginTransaction>(NAMESPACE, id);
    return tx && !this.#isExpired(tx) ? tx : undefined;
  }

  #isExpired(tx: LoginTransaction): boolean {
    return this.#clock.now() >= tx.createdAt + LIFETIME_SECONDS * 1000;
  }
}
