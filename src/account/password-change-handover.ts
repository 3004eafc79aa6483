import type { KeyValue } from '../store/store.ts';
import type { LoginTransaction } from '../login/transaction.ts';
import { ExclusiveKeys } from '../core/exclusive-keys.ts';
import { safeEqual } from '../core/secret-box.ts';
import { HELD_BIND_MS } from '../directory/ldap-held-binds.ts';

const NAMESPACE = 'account-password-handover';
/** "My security" sign-ins that took a handover over (by transaction id), for the page after the change. */
const TAKEN_NAMESPACE = 'account-password-handover-taken';
/** The page after the change (by SSO session id): which application to go back to. */
const CHANGED_NAMESPACE = 'account-password-changed';
/**
 * As long as the directory holds a grace sign-in's bound connection for the change: after that, the
 * change would need another grace sign-in, which "My security"'s own sign-in spends as well.
 */
const HANDOVER_SECONDS = HELD_BIND_MS / 1000;

type PendingChange = NonNullable<LoginTransaction['pendingPasswordChange']>;

/** What a sign-in proved before it was refused for a password to change, kept for "My security". */
interface Handover {
  change: PendingChange;
  /** The browser it was proved in: no other one may take it. */
  browserBinding: string;
  /** The application that refused the change, named on the page after it. */
  rpName: string;
  /** The "My security" sign-in that took it over: a second press of the button goes on there. */
  takenBy?: string;
}

/** Which application the user goes back to once the change is made, and that sign-in (still open, maybe). */
export interface ChangedFor {
  rpName: string;
  signInTxId: string;
}

/**
 * A password that must be changed, proved at an application that does not take the change: its
 * refusal page hands the change to "My security" (account-routes.ts), which would otherwise have
 * the user sign in there again. That second sign-in costs OpenLDAP another grace sign-in (slapd
 * counts every bind): after the last one it was refused, and the user could not change the password
 * at all. So the change form there takes over the account this sign-in proved and the connection the
 * directory kept bound (heldBindId), in the same browser only, while that connection is held. Memory only.
 */
export class PasswordChangeHandovers {
  readonly #kv: KeyValue;
  /** A double press waits for the first one's "My security" sign-in instead of opening another. */
  readonly #turns = new ExclusiveKeys();

  constructor(kv: KeyValue) {
    this.#kv = kv;
  }

  /** Offers the change `tx` proved to "My security", for its browser; a sign-in without one is offered nothing. */
  async offer(tx: LoginTransaction, change: PendingChange): Promise<void> {
    if (!tx.browserBinding) return;
    const handover: Handover = { change, browserBinding: tx.browserBinding, rpName: tx.request.rpName };
    await this.#kv.set(NAMESPACE, tx.id, handover, { ttlSeconds: HANDOVER_SECONDS, durable: false });
  }

  /**
   * Runs `takeOver` once for the handover of sign-in `signInTxId` made in `browserBinding`'s browser:
   * it opens the "My security" sign-in that changes the password and returns its id. Later calls get
   * that id again. Undefined when there is none for this browser (another browser, its time ran out).
   */
  async take(signInTxId: string, browserBinding: string | undefined, takeOver: (change: PendingChange) => Promise<string>): Promise<{ txId: string; fresh: boolean } | undefined> {
    return this.#turns.run(signInTxId, async () => {
      const handover = await this.#kv.get<Handover>(NAMESPACE, signInTxId);
      if (!handover || !browserBinding || !safeEqual(handover.browserBinding, browserBinding)) return undefined;
      if (handover.takenBy) return { txId: handover.takenBy, fresh: false };
      const txId = await takeOver(handover.change);
      await this.#kv.set(NAMESPACE, signInTxId, { ...handover, takenBy: txId }, { ttlSeconds: HANDOVER_SECONDS, durable: false });
      await this.#kv.set<ChangedFor>(TAKEN_NAMESPACE, txId, { rpName: handover.rpName, signInTxId }, { ttlSeconds: HANDOVER_SECONDS, durable: false });
      return { txId, fresh: true };
    });
  }

  /** The "My security" sign-in `txId` changed the password of a handover and signed in as `sessionId`: kept for the page that says so. */
  async changed(txId: string, sessionId: string): Promise<boolean> {
    const changedFor = await this.#kv.consume<ChangedFor>(TAKEN_NAMESPACE, txId);
    if (changedFor) await this.#kv.set(CHANGED_NAMESPACE, sessionId, changedFor, { ttlSeconds: HANDOVER_SECONDS, durable: false });
    return changedFor !== undefined;
  }

  /** What the page after the change of session `sessionId` says. */
  changedFor(sessionId: string): Promise<ChangedFor | undefined> {
    return this.#kv.get<ChangedFor>(CHANGED_NAMESPACE, sessionId);
  }
}
