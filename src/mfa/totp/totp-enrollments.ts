import type { Collection, KeyValue } from '../../store/store.ts';
import type { SecretBox } from '../../core/secret-box.ts';
import type { TotpParameters } from './totp-codes.ts';
import { randomId } from '../../core/ids.ts';

/** AAD of sealed TOTP secrets: a sealed value made for another purpose cannot be passed off as one. */
export const SECRET_PURPOSE = 'totp-secret';
/** The collection build-mfa.ts opens for registrations; an import writes all of its records there in one step (Store.putAll). */
export const ENROLLMENT_COLLECTION = 'mfa-enrollments';
const PENDING_NAMESPACE = 'mfa-totp-pending';
const PENDING_TTL_SECONDS = 15 * 60;
/** A mark per administrator reset of a user's registration: setups shown under an older mark are void. */
const RESET_NAMESPACE = 'mfa-totp-reset';
/** Well beyond a pending setup's life, which a reload of its page renews. */
const RESET_MARK_TTL_SECONDS = 24 * 3600;

/** An active TOTP registration (collection ENROLLMENT_COLLECTION, id = user id). The secret is sealed, never stored in clear. */
export interface TotpEnrollment extends TotpParameters {
  id: string;
  /** The user's name at their last successful TOTP or backup code; the id is what identifies them. */
  username: string;
  sealedSecret: string;
  createdAt: number;
}

/** A secret shown to the user but not confirmed with a code yet. */
interface PendingEnrollment extends TotpParameters {
  sealedSecret: string;
  createdAt: number;
  /** The user's reset mark when the secret was shown (see voidPending). */
  resetMark?: string;
}

/**
 * Pending secrets are kept per user (one namespace each, so a user's are found without a scan) and
 * keyed by SSO session: each browser is shown a secret of its own, and only the browser that was
 * shown a secret can confirm it.
 */
function pendingNamespace(userId: string): string {
  return `${PENDING_NAMESPACE}/${userId}`;
}

/** Where TOTP registrations live: confirmed ones in a collection, pending ones briefly in memory. */
export class TotpEnrollments {
  readonly #records: Collection<TotpEnrollment>;
  readonly #kv: KeyValue;
  readonly #box: SecretBox;

  constructor(records: Collection<TotpEnrollment>, kv: KeyValue, box: SecretBox) {
    this.#records = records;
    this.#kv = kv;
    this.#box = box;
  }

  get(userId: string): Promise<TotpEnrollment | undefined> {
    return this.#records.get(userId);
  }

  list(): Promise<TotpEnrollment[]> {
    return this.#records.list();
  }

  secretOf(enrollment: { sealedSecret: string }): string {
    return this.#box.openText(enrollment.sealedSecret, SECRET_PURPOSE);
  }

  async put(userId: string, username: string, secret: string, parameters: TotpParameters, createdAt: number): Promise<void> {
    await this.#records.put(this.sealedRecord(userId, username, secret, parameters, createdAt));
  }

  /** The record `put` stores, for writing many at once with Store.putAll in ENROLLMENT_COLLECTION. */
  sealedRecord(userId: string, username: string, secret: string, parameters: TotpParameters, createdAt: number): TotpEnrollment {
    return { id: userId, username, sealedSecret: this.#box.seal(secret, SECRET_PURPOSE), ...parameters, createdAt };
  }

  /**
   * Stores the user's current name on their registration, for `mfa list` and the export: directories
   * rename users and keep their id. Writes only when the name changed, so a sign-in costs no file write.
   */
  async refreshUsername(userId: string, username: string): Promise<void> {
    const enrollment = await this.#records.get(userId);
    // update, not put: an `mfa reset` by the CLI a moment ago must not be written back.
    if (enrollment && enrollment.username !== username) await this.#records.update(userId, (current) => ({ ...current, username }));
  }

  remove(userId: string): Promise<boolean> {
    return this.#records.remove(userId);
  }

  /** Memory only and short-lived: an unconfirmed secret is worthless after a restart, and is sealed anyway. */
  async setPending(userId: string, sessionId: string, secret: string, parameters: TotpParameters, createdAt: number): Promise<void> {
    const resetMark = await this.#kv.get<string>(RESET_NAMESPACE, userId);
    const pending: PendingEnrollment = { sealedSecret: this.#box.seal(secret, SECRET_PURPOSE), ...parameters, createdAt, resetMark };
    await this.#kv.set(pendingNamespace(userId), sessionId, pending, { ttlSeconds: PENDING_TTL_SECONDS, durable: false });
  }

  async pending(userId: string, sessionId: string): Promise<(TotpParameters & { secret: string; createdAt: number }) | undefined> {
    const pending = await this.#kv.get<PendingEnrollment>(pendingNamespace(userId), sessionId);
    if (!pending || (await this.#voided(userId, pending.resetMark))) return undefined;
    const { digits, periodSeconds, algorithm, createdAt } = pending;
    return { digits, periodSeconds, algorithm, createdAt, secret: this.secretOf(pending) };
  }

  /** Whether a setup shown to another SSO session of the user is still open (not confirmed, expired or voided). */
  async pendingElsewhere(userId: string, sessionId: string): Promise<boolean> {
    const elsewhere = (await this.#kv.entries<PendingEnrollment>(pendingNamespace(userId))).filter(([id]) => id !== sessionId);
    for (const [, pending] of elsewhere) if (!(await this.#voided(userId, pending.resetMark))) return true;
    return false;
  }

  /**
   * Taken once: two confirmations of the same pending secret cannot both activate it. Resolves to the
   * reset mark the secret was shown under (see resetSince), or undefined when it is gone or void.
   */
  async takePending(userId: string, sessionId: string): Promise<{ resetMark?: string } | undefined> {
    const pending = await this.#kv.consume<PendingEnrollment>(pendingNamespace(userId), sessionId);
    if (pending === undefined || (await this.resetSince(userId, pending.resetMark))) return undefined;
    return { resetMark: pending.resetMark };
  }

  /**
   * Whether an administrator reset the user after `resetMark`, as the store holds it now: an `mfa reset`
   * by the CLI a moment ago included, which this process would otherwise read only up to half a second later.
   */
  async resetSince(userId: string, resetMark: string | undefined): Promise<boolean> {
    await this.#kv.catchUp?.();
    return this.#voided(userId, resetMark);
  }

  /**
   * Voids every setup of the user shown so far. Pending secrets live in the server's memory, out of
   * reach of the admin CLI that resets; this durable mark reaches the server through the store.
   */
  async voidPending(userId: string): Promise<void> {
    await this.#kv.set(RESET_NAMESPACE, userId, randomId(), { ttlSeconds: RESET_MARK_TTL_SECONDS });
  }

  /** Whether a secret shown under `resetMark` predates the user's last reset, as this process has read the store so far. */
  async #voided(userId: string, resetMark: string | undefined): Promise<boolean> {
    return (await this.#kv.get<string>(RESET_NAMESPACE, userId)) !== resetMark;
  }

  /** Removes the registration `put` stored at `createdAt` with `secret`, and no later one. */
  async removeIfStill(userId: string, secret: string, createdAt: number): Promise<void> {
    const enrollment = await this.#records.get(userId);
    if (enrollment?.createdAt === createdAt && this.secretOf(enrollment) === secret) await this.#records.remove(userId);
  }

  /** Drops the secret shown to one browser (its SSO session). */
  async discardPendingOf(userId: string, sessionId: string): Promise<void> {
    await this.#kv.delete(pendingNamespace(userId), sessionId);
  }

  /** Drops the user's pending secrets in every browser: once one setup is confirmed, the others' secrets would replace it. */
  async discardPending(userId: string): Promise<void> {
    const namespace = pendingNamespace(userId);
    const entries = await this.#kv.entries<PendingEnrollment>(namespace);
    await Promise.all(entries.map(([sessionId]) => this.#kv.delete(namespace, sessionId)));
  }
}
