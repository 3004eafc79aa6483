/**
 * A small pool of directory connections, so a sign-in reuses an open connection instead of paying a
 * TCP(+TLS) handshake; `LdapConnector` opens them.
 */
import type { Logger } from 'pino';
import { destroy, isOpen, type Connection } from './ldap-connection.ts';
import type { LdapConnector } from './ldap-connector.ts';
import { LdapUnavailableError, describeError, isLdapResult } from './ldap-errors.ts';

/** Busy / unavailable: the server is going away, so another connection (or server) may do better. */
const retryable = (err: unknown): boolean => !isLdapResult(err) || err.code === 51 || err.code === 52;

export type PoolStats = { created: number; open: number; idle: number; waiting: number };

/** A fixed-size pool; `serviceBound` pools hold connections bound as the service account. */
export class LdapPool {
  readonly #connector: LdapConnector;
  readonly #size: number;
  readonly #serviceBound: boolean;
  readonly #idle: Connection[] = [];
  readonly #waiters: Array<(c: Connection | null) => void> = [];
  readonly #detached = new Set<Connection>();
  #open = 0;
  #created = 0;
  #closed = false;

  constructor(connector: LdapConnector, options: { size: number; serviceBound: boolean }) {
    this.#connector = connector;
    this.#size = options.size;
    this.#serviceBound = options.serviceBound;
  }

  stats(): PoolStats {
    return { created: this.#created, open: this.#open, idle: this.#idle.length, waiting: this.#waiters.length };
  }

  async #create(log: Logger | undefined): Promise<Connection> {
    const connection = await this.#connector.connect({ serviceBound: this.#serviceBound, log });
    this.#created += 1;
    return connection;
  }

  async #acquire(log: Logger | undefined): Promise<Connection> {
    for (;;) {
      if (this.#closed) throw new LdapUnavailableError('directory connection pool is closed');
      const idle = this.#idle.pop();
      if (idle) {
        // the server may have closed an idle connection (idletimeout, restart): ldapts would reconnect
        // unbound, or after StartTLS write into the closed socket until the timeout. A server a new
        // connection failed to reach meanwhile is most likely hung: work that may not be retried (a
        // password bind) must not go to it when a fresh connection can fail over. One to a backup
        // makes way once the primary works again (this loop closes each idle one in turn).
        if (isOpen(idle) && !this.#connector.isDown(idle.url) && !this.#connector.outranked(idle.url, this.#serviceBound)) return idle;
        this.#discard(idle);
        continue;
      }
      if (this.#open < this.#size) {
        this.#open += 1;
        try {
          return await this.#create(log);
        } catch (err) {
          this.#open -= 1;
          this.#waiters.shift()?.(null);
          throw err;
        }
      }
      const handed = await this.#wait();
      if (handed === 'timed-out') throw new LdapUnavailableError(`all ${this.#size} directory connections stayed busy for ${this.#connector.waitLimitMs} ms`);
      if (handed) return handed;
    }
  }

  /** A connection handed over by a release, null to try again (one was discarded), or 'timed-out'. */
  #wait(): Promise<Connection | null | 'timed-out'> {
    return new Promise((resolve) => {
      const waiter = (connection: Connection | null) => {
        clearTimeout(timer);
        resolve(connection);
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        resolve('timed-out');
      }, this.#connector.waitLimitMs);
      this.#waiters.push(waiter);
    });
  }

  #discard(connection: Connection): void {
    this.#open -= 1;
    void destroy(connection.client);
    this.#waiters.shift()?.(null);
  }

  #dropIdle(url: string): void {
    for (const c of this.#idle.filter((i) => i.url === url)) {
      this.#idle.splice(this.#idle.indexOf(c), 1);
      this.#discard(c);
    }
  }

  /**
   * Takes the connection `use` lent to its `fn` out of the pool for good, with the identity bound on it:
   * the caller closes it. The pool opens another in its place when needed.
   */
  detach(connection: Connection): void {
    this.#detached.add(connection);
  }

  #release(connection: Connection, broken: boolean): void {
    if (this.#detached.delete(connection)) {
      this.#open -= 1;
      this.#waiters.shift()?.(null);
      return;
    }
    if (broken || this.#closed || !isOpen(connection) || this.#connector.outranked(connection.url, this.#serviceBound)) return this.#discard(connection);
    const waiter = this.#waiters.shift();
    if (waiter) waiter(connection);
    else this.#idle.push(connection);
  }

  /**
   * Runs `fn` on a pooled connection. A transport failure discards the connection and, when `retry`
   * is set (idempotent work), runs `fn` once more on a fresh connection, which fails over to a backup.
   * `log`: the request's log, for what connecting on its behalf logs.
   */
  async use<T>(fn: (connection: Connection) => Promise<T>, options: { retry?: boolean; log?: Logger } = {}): Promise<T> {
    const attempts = options.retry === false ? 1 : 2;
    for (let attempt = 1; ; attempt++) {
      const connection = await this.#acquire(options.log);
      try {
        const result = await fn(connection);
        this.#release(connection, false);
        return result;
      } catch (err) {
        const transport = retryable(err);
        this.#release(connection, transport);
        if (!transport) throw err;
        this.#dropIdle(connection.url); // its siblings to the same server are most likely dead as well
        if (attempt >= attempts) throw new LdapUnavailableError(`directory operation failed: ${describeError(err)}`);
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle.splice(0);
    this.#open -= idle.length;
    for (const waiter of this.#waiters.splice(0)) waiter(null);
    await Promise.all([...idle.map((c) => destroy(c.client)), this.#connector.settled()]);
  }
}
