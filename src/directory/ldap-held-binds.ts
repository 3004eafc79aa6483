import { randomBytes } from 'node:crypto';
import type { Client } from 'ldapts';
import type { PasswordChangeOutcome } from './directory.ts';
import { destroy, isOpen, type Connection } from './ldap-connection.ts';

/** How long a grace sign-in's connection waits for the change form: time to read it and type a new password twice. */
export const HELD_BIND_MS = 10 * 60_000;
/** At most this many are held; the oldest is closed for a newer one (its change falls back to a new bind). */
const MAX_HELD_BINDS = 64;

type Held = { dn: string; connection: Connection; until: number; timer: NodeJS.Timeout };

const closeConnection = (connection: Connection): Promise<void> => destroy(connection.client);

/**
 * Connections a ppolicy grace sign-in left bound as the user. slapd spends a grace sign-in on every
 * bind with the expired password, so with pwdGraceAuthNLimit 1 a second bind for the change would be
 * refused: the change runs on the connection the sign-in bound. In memory only, never the password;
 * closed after a change, when their time is up, when more are held than allowed, and on close().
 */
export class HeldBinds {
  readonly #held = new Map<string, Held>();
  readonly #holdMs: number;
  #closed = false;

  constructor(holdMs = HELD_BIND_MS) {
    this.#holdMs = holdMs;
  }

  /** Keeps `connection` (bound as `dn`); returns the id the change gives to `use`. */
  hold(dn: string, connection: Connection): string {
    const id = randomBytes(18).toString('base64url');
    this.#put(id, dn, connection, Date.now() + this.#holdMs);
    while (this.#held.size > MAX_HELD_BINDS) void this.#close(this.#held.keys().next().value!);
    return id;
  }

  /**
   * Runs `change` on the connection held under `id` for `dn`; undefined when there is none (or not for
   * that entry). Taken out while it runs, so two submissions never share it; kept after a refused
   * change for the next try, closed after a successful one or a transport failure.
   */
  async use(id: string, dn: string, change: (client: Client) => Promise<PasswordChangeOutcome>): Promise<PasswordChangeOutcome | undefined> {
    const held = this.#held.get(id);
    if (!held) return undefined;
    this.#take(id);
    if (held.dn !== dn || !isOpen(held.connection)) {
      await closeConnection(held.connection);
      return undefined;
    }
    let outcome: PasswordChangeOutcome;
    try {
      outcome = await change(held.connection.client);
    } catch (err) {
      await closeConnection(held.connection);
      throw err;
    }
    if (outcome.ok || this.#closed || Date.now() >= held.until) await closeConnection(held.connection);
    else this.#put(id, dn, held.connection, held.until);
    return outcome;
  }

  /** Closes every held connection, and any still in use once its change is done. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#held.keys()].map((id) => this.#close(id)));
  }

  #put(id: string, dn: string, connection: Connection, until: number): void {
    const timer = setTimeout(() => void this.#close(id), Math.max(0, until - Date.now()));
    timer.unref();
    this.#held.set(id, { dn, connection, until, timer });
  }

  #take(id: string): void {
    clearTimeout(this.#held.get(id)?.timer);
    this.#held.delete(id);
  }

  #close(id: string): Promise<void> {
    const held = this.#held.get(id);
    if (!held) return Promise.resolve();
    this.#take(id);
    return closeConnection(held.connection);
  }
}
