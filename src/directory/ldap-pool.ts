/**
 * Connections to the directory: failover across `urls`, TLS (ldaps:// or StartTLS) validated against
 * the configured CA, timeouts, service bind with a backup account, and a small pool so a sign-in
 * reuses an open connection instead of paying a TCP(+TLS) handshake.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, ResultCodeError } from 'ldapts';
import type { Logger } from 'pino';
import type { LdapDirectoryConfig } from './ldap-config.ts';

/** A server that failed is tried last for this long, so a dead primary does not cost a timeout per connection. */
const DOWN_MS = 30_000;
/** After the directory refused the service accounts' passwords, how long before they are tried again. */
const SERVICE_BIND_BACKOFF_MS = 10_000;

/** The directory cannot be used (network, TLS, service account); `message` is meant for the admin log. */
export class LdapUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LdapUnavailableError';
  }
}

export interface Connection {
  client: Client;
  url: string;
  /** The channel is encrypted (ldaps:// or StartTLS). */
  secure: boolean;
}

/** An answer from the server (wrong password, no such object…) as opposed to a transport failure. */
export function isLdapResult(err: unknown): err is ResultCodeError {
  return err instanceof ResultCodeError;
}

export function describeError(err: unknown): string {
  if (err instanceof ResultCodeError) {
    // ldapts messages are often just "Code: 0x31"; spell the result out ("LDAP 49 invalid credentials")
    const kind = err.constructor.name.replace(/Error$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
    const text = err.message.replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
    return `LDAP ${err.code} ${kind}${text ? `: ${text}` : ''}`;
  }
  const e = err as { code?: unknown; message?: string };
  const code = typeof e?.code === 'string' ? `${e.code}: ` : '';
  return `${code}${e?.message ?? String(err)}`.replace(/\s+/g, ' ').trim();
}

const destroy = (client: Client): Promise<void> => client.unbind().catch(() => undefined);

/** Busy / unavailable: the server is going away, so another connection (or server) may do better. */
const retryable = (err: unknown): boolean => !isLdapResult(err) || err.code === 51 || err.code === 52;

export class LdapConnector {
  readonly #config: LdapDirectoryConfig;
  readonly #logger?: Logger;
  readonly #downUntil = new Map<string, number>();
  #ca?: Promise<Buffer | undefined>;
  /**
   * While every server is down, one request at a time tries to connect again and the others are
   * answered "unavailable" at once, instead of each waiting out the connect timeout in turn (with 16
   * sign-ins and a pool of 4 the last one waited 50 s). The next request after a failed try tries again.
   */
  #probing = false;
  #lastFailure = '';
  /**
   * The service accounts' passwords were refused: until then, no bind is tried again with them.
   * Every sign-in would otherwise send the wrong password once more, and a directory that locks
   * accounts (AD's lockout threshold applies to service accounts too) would lock the shared one.
   */
  #serviceBindRefusedUntil = 0;
  #serviceBindRefusal = '';

  constructor(config: LdapDirectoryConfig, logger?: Logger) {
    this.#config = config;
    this.#logger = logger;
  }

  #tlsOptions(hostname: string): Promise<ConnectionOptions> {
    const caFile = this.#config.tls.caFile;
    this.#ca ??= caFile
      ? readFile(caFile).catch((err: unknown) => {
          this.#ca = undefined; // a fixed file is picked up on the next attempt
          throw new LdapUnavailableError(`cannot read tls.caFile ${caFile}: ${describeError(err)}`, { cause: err });
        })
      : Promise.resolve(undefined);
    return this.#ca.then((ca) => ({
      ca,
      rejectUnauthorized: this.#config.tls.rejectUnauthorized,
      host: hostname,
      // RFC 6066 forbids SNI with an IP address
      ...(isIP(hostname) ? {} : { servername: hostname }),
    }));
  }

  /** Opens a connection to one server: TCP (or TLS for ldaps://), then StartTLS when configured. */
  async connectTo(url: string): Promise<Connection> {
    const { connectTimeoutMs, searchTimeoutMs, startTls } = this.#config;
    const parsed = new URL(url);
    const hostname = parsed.hostname.replace(/^\[|\]$/g, '');
    const ldaps = parsed.protocol === 'ldaps:';
    const tls = ldaps || startTls ? await this.#tlsOptions(hostname) : undefined;
    // tlsOptions on an ldap:// URL would make ldapts speak TLS right away, so StartTLS gets them later
    const client = new Client({ url, connectTimeout: connectTimeoutMs, timeout: searchTimeoutMs, tlsOptions: ldaps ? tls : undefined });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`connect timeout after ${connectTimeoutMs} ms`)), connectTimeoutMs)));
    // ldapts connects lazily; any answer to a root DSE read (even a refusal) proves the connection works
    const probe = (): Promise<unknown> => client.search('', { scope: 'base', attributes: ['1.1'] }).catch((e: unknown) => (isLdapResult(e) ? undefined : Promise.reject(e)));
    try {
      await Promise.race([!ldaps && startTls ? client.startTLS(tls) : probe(), deadline]);
      return { client, url, secure: ldaps || startTls };
    } catch (err) {
      await destroy(client);
      const hint = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(String((err as { code?: unknown }).code)) ? ' (check tls.caFile and the server name)' : '';
      throw new LdapUnavailableError(`${url}: ${describeError(err)}${hint}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * How long a request waits for a pooled connection: as long as one operation may take (connect, then
   * the operation itself). Longer, and every connection is stuck on a server that stopped answering.
   */
  get waitLimitMs(): number {
    return this.#config.connectTimeoutMs + this.#config.searchTimeoutMs;
  }

  /** Whether connecting to `url` failed within the last DOWN_MS. */
  isDown(url: string): boolean {
    return (this.#downUntil.get(url) ?? 0) > Date.now();
  }

  /** Tries the servers in configured order, those that failed recently last. */
  async connect(): Promise<Connection> {
    const now = Date.now();
    if (!this.#config.urls.every((url) => this.isDown(url))) return this.#connectAny(now);
    if (this.#probing) throw new LdapUnavailableError(`no directory server reachable (another request is trying again; the last attempt: ${this.#lastFailure})`);
    this.#probing = true;
    try {
      return await this.#connectAny(now);
    } finally {
      this.#probing = false;
    }
  }

  async #connectAny(now: number): Promise<Connection> {
    const urls = [...this.#config.urls].sort((a, b) => Number((this.#downUntil.get(a) ?? 0) > now) - Number((this.#downUntil.get(b) ?? 0) > now));
    const failures: string[] = [];
    for (const url of urls) {
      try {
        const connection = await this.connectTo(url);
        this.#downUntil.delete(url);
        return connection;
      } catch (err) {
        this.#downUntil.set(url, Date.now() + DOWN_MS);
        failures.push(describeError(err));
        this.#logger?.warn({ event: 'ldap.connect.failed', url, error: describeError(err) }, 'directory server unreachable');
      }
    }
    this.#lastFailure = failures.join('; ');
    throw new LdapUnavailableError(`no directory server reachable: ${this.#lastFailure}`);
  }

  /** Binds as the service account, then the backup account; returns the DN that worked. */
  async serviceBind(client: Client): Promise<string> {
    if (Date.now() < this.#serviceBindRefusedUntil) throw new LdapUnavailableError(`${this.#serviceBindRefusal} (not tried again until ${new Date(this.#serviceBindRefusedUntil).toISOString()})`);
    const accounts = [this.#config.bind, ...(this.#config.backupBind ? [this.#config.backupBind] : [])];
    const failures: string[] = [];
    for (const [i, account] of accounts.entries()) {
      try {
        await client.bind(account.dn, account.password);
        if (i > 0) this.#logger?.warn({ event: 'ldap.bind.backup', dn: account.dn }, 'service bind fell back to the backup account');
        return account.dn;
      } catch (err) {
        if (!isLdapResult(err)) throw new LdapUnavailableError(`service bind as ${account.dn}: ${describeError(err)}`, { cause: err });
        failures.push(`${account.dn}: ${describeError(err)}`);
      }
    }
    this.#serviceBindRefusal = `service bind failed: ${failures.join('; ')}`;
    this.#serviceBindRefusedUntil = Date.now() + SERVICE_BIND_BACKOFF_MS;
    throw new LdapUnavailableError(this.#serviceBindRefusal);
  }
}

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

  async #create(): Promise<Connection> {
    const connection = await this.#connector.connect();
    if (this.#serviceBound) await this.#connector.serviceBind(connection.client).catch((err: unknown) => destroy(connection.client).then(() => Promise.reject(err)));
    this.#created += 1;
    return connection;
  }

  async #acquire(): Promise<Connection> {
    for (;;) {
      if (this.#closed) throw new LdapUnavailableError('directory connection pool is closed');
      const idle = this.#idle.pop();
      if (idle) {
        // the server may have closed an idle connection; ldapts would silently reconnect unbound.
        // A server a new connection failed to reach meanwhile is most likely hung: work that may not
        // be retried (a password bind) must not go to it when a fresh connection can fail over.
        if (idle.client.isConnected && !this.#connector.isDown(idle.url)) return idle;
        this.#discard(idle);
        continue;
      }
      if (this.#open < this.#size) {
        this.#open += 1;
        try {
          return await this.#create();
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
    if (broken || this.#closed || !connection.client.isConnected) return this.#discard(connection);
    const waiter = this.#waiters.shift();
    if (waiter) waiter(connection);
    else this.#idle.push(connection);
  }

  /**
   * Runs `fn` on a pooled connection. A transport failure discards the connection and, when `retry`
   * is set (idempotent work), runs `fn` once more on a fresh connection, which fails over to a backup.
   */
  async use<T>(fn: (connection: Connection) => Promise<T>, options: { retry?: boolean } = {}): Promise<T> {
    const attempts = options.retry === false ? 1 : 2;
    for (let attempt = 1; ; attempt++) {
      const connection = await this.#acquire();
      try {
        const result = await fn(connection);
        this.#release(connection, false);
        return result;
      } catch (err) {
        const transport = retryable(err);
        this.#release(connection, transport);
        if (!transport) throw err;
        this.#dropIdle(connection.url); // its siblings to the same server are most likely dead as well
        if (attempt >= attempts) throw new LdapUnavailableError(`directory operation failed: ${describeError(err)}`, { cause: err });
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle.splice(0);
    this.#open -= idle.length;
    for (const waiter of this.#waiters.splice(0)) waiter(null);
    await Promise.all(idle.map((c) => destroy(c.client)));
  }
}
