/**
 * Making a usable connection to the directory: failover across `urls` (and back once a preferred
 * server works again), TLS (ldaps:// or StartTLS) validated against the configured CA, timeouts, and
 * the service bind with a backup account.
 */
import type { ConnectionOptions } from 'node:tls';
import { Client } from 'ldapts';
import type { Logger } from 'pino';
import type { LdapDirectoryConfig } from './ldap-config.ts';
import { destroy, keepingStartTlsSocket, readRootDse, type Connection } from './ldap-connection.ts';
import { LdapUnavailableError, bindResultLeftUnjudged, describeError, isLdapResult } from './ldap-errors.ts';
import { describeRefusal, explainConnectFailure, tlsOptionsFor } from './ldap-tls.ts';

/** A server that failed is tried last for this long, so a dead primary does not cost a timeout per connection. */
const DOWN_MS = 30_000;
/** After a server refused a service account's password, how long before that password is sent to it again. */
const SERVICE_BIND_BACKOFF_MS = 10_000;

/** One server refused every service account; `refusal` says which server, which accounts and until when. */
class ServiceBindRefusedError extends LdapUnavailableError {
  readonly refusal: string;
  constructor(refusal: string) {
    super(`service bind failed: ${refusal}`);
    this.name = 'ServiceBindRefusedError';
    this.refusal = refusal;
  }
}

/**
 * The service account that bound. `mainRefused`: when it is the backup account, what the server said
 * to bind.dn (the main account), as the log and a refused bind name it.
 */
export interface ServiceBound {
  dn: string;
  mainRefused?: string;
}

/**
 * A service account's password that one server refused, and when it may be sent there again.
 * `times`: refusals in a row, each doubling the back-off (a wrong service password is a configuration
 * error: retrying it every few seconds only walks a directory with lockout towards locking the account).
 */
type Refusal = { until: number; error: string; times: number };

/** The longest back-off after refusals in a row. */
const SERVICE_BIND_BACKOFF_MAX_MS = 5 * 60_000;

export class LdapConnector {
  readonly #config: LdapDirectoryConfig;
  readonly #logger?: Logger;
  readonly #downMs: number;
  readonly #serviceBindBackoffMs: number;
  /** Servers that failed and have not been reached since: until when they are tried last. */
  readonly #downUntil = new Map<string, number>();
  /** Background checks of servers whose down window is over (see `outranked`). */
  readonly #rechecks = new Map<string, Promise<void>>();
  readonly #tlsOptions: (hostname: string) => Promise<ConnectionOptions>;
  /**
   * While every server is down, one request at a time tries to connect again; the others are answered
   * at once that the directory is unavailable, instead of each waiting out the connect timeout in
   * turn (with 16 sign-ins and a pool of 4 the last one waited 50 s), or waiting on this one's try
   * while holding a pool slot. A sign-in's own searches share one connection (LdapDirectory), so
   * none of them fails on another's try.
   */
  #probing = false;
  #lastFailure = '';
  /**
   * Per server, per service account (by its index: `bind` and `backupBind` may be one DN with an old
   * and a new password): the password that server refused. It is not sent there again until then:
   * every new connection would otherwise send it once more, and a directory that locks accounts (AD's
   * lockout threshold applies to service accounts too) would lock the shared one. Kept after the
   * back-off until that account binds there again, so connections do not move back to the server
   * just to try the password once more.
   */
  readonly #refusals = new Map<string, Map<number, Refusal>>();
  /** Service binds to one server take turns, so connections opened together send a refused password once. */
  readonly #serviceBindTurns = new Map<string, Promise<unknown>>();

  /** `timing`: shorter down window and back-off for tests. */
  constructor(config: LdapDirectoryConfig, logger?: Logger, timing: { downMs?: number; serviceBindBackoffMs?: number } = {}) {
    this.#config = config;
    this.#logger = logger;
    this.#downMs = timing.downMs ?? DOWN_MS;
    this.#serviceBindBackoffMs = timing.serviceBindBackoffMs ?? SERVICE_BIND_BACKOFF_MS;
    this.#tlsOptions = tlsOptionsFor(config.tls);
  }

  /** Opens a connection to one server: TCP (or TLS for ldaps://), then StartTLS when configured. */
  async connectTo(url: string): Promise<Connection> {
    const { connectTimeoutMs, searchTimeoutMs, startTls } = this.#config;
    const parsed = new URL(url);
    const hostname = parsed.hostname.replace(/^\[|\]$/g, '');
    const ldaps = parsed.protocol === 'ldaps:';
    const tls = ldaps || startTls ? await this.#tlsOptions(hostname) : undefined;
    const upgrade = !ldaps && startTls;
    // tlsOptions on an ldap:// URL would make ldapts speak TLS right away, so StartTLS gets them later
    const client: Client = new Client({
      url,
      connectTimeout: connectTimeoutMs,
      timeout: searchTimeoutMs,
      tlsOptions: ldaps ? tls : undefined,
      ...(upgrade ? { createSecureConnection: keepingStartTlsSocket(() => client) } : {}),
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`connect timeout after ${connectTimeoutMs} ms`)), connectTimeoutMs)));
    try {
      await Promise.race([upgrade ? client.startTLS(tls) : readRootDse(client), deadline]);
      return { client, url, secure: ldaps || startTls };
    } catch (err) {
      await destroy(client);
      throw new LdapUnavailableError(`${url}: ${await explainConnectFailure(url, err, tls, this.#config)}`);
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

  /** Whether connecting to `url` failed within the down window. */
  isDown(url: string): boolean {
    return (this.#downUntil.get(url) ?? 0) > Date.now();
  }

  /**
   * Whether a connection to `url` should make way for one to a server listed before it that works:
   * reached since it last failed and, for service-bound connections, not refusing the service account.
   * A listed-before server whose down window is over is checked in the background, so that no
   * sign-in waits on a server that may still be down.
   */
  outranked(url: string, serviceBound: boolean): boolean {
    for (const earlier of this.#config.urls) {
      if (earlier === url) return false;
      if (serviceBound && this.#refusals.get(earlier)?.size) continue;
      if (!this.#downUntil.has(earlier)) return true;
      if (!this.isDown(earlier)) this.#recheck(earlier);
    }
    return false;
  }

  #recheck(url: string): void {
    if (this.#rechecks.has(url)) return;
    const recheck = this.connectTo(url)
      .then(
        (connection) => {
          this.#downUntil.delete(url);
          this.#logger?.info({ event: 'ldap.connect.recovered', url }, 'directory server reachable again: new connections go to it');
          return destroy(connection.client);
        },
        (err: unknown) => void this.#markDown(url, err),
      )
      .finally(() => this.#rechecks.delete(url));
    this.#rechecks.set(url, recheck);
  }

  /** Waits for background checks still connecting (at close). */
  async settled(): Promise<void> {
    await Promise.all(this.#rechecks.values());
  }

  /** Records the failure; returns it in words. `log`: the request's own, when one connects for a request. */
  #markDown(url: string, err: unknown, log: Logger | undefined = this.#logger): string {
    this.#downUntil.set(url, Date.now() + this.#downMs);
    log?.warn({ event: 'ldap.connect.failed', url, error: describeError(err) }, 'directory server unreachable');
    return describeError(err);
  }

  /**
   * Tries the servers in configured order, those that failed recently last. `serviceBound`: binds as
   * the service account too, skipping servers that refused every service account within the back-off.
   * `log`: the log of the request that needs the connection (a sign-in, a /readyz probe), so that the
   * failure carries its request id.
   */
  async connect(options: { serviceBound: boolean; log?: Logger }): Promise<Connection> {
    const now = Date.now();
    const refusing = options.serviceBound ? this.#config.urls.filter((url) => this.#refusesEveryAccount(url, now)) : [];
    const refusals = refusing.map((url) => this.#refusal(url, true));
    const urls = this.#config.urls.filter((url) => !refusing.includes(url));
    if (urls.length === 0) throw new ServiceBindRefusedError(refusals.join('; '));
    if (!urls.every((url) => this.isDown(url))) return this.#connectAny(urls, now, options.serviceBound, refusals, options.log);
    if (this.#probing) throw new LdapUnavailableError(`no directory server reachable (another request is trying again; the last attempt: ${this.#lastFailure})`);
    this.#probing = true;
    try {
      return await this.#connectAny(urls, now, options.serviceBound, refusals, options.log);
    } finally {
      this.#probing = false;
    }
  }

  async #connectAny(urls: string[], now: number, serviceBound: boolean, refusals: string[], log: Logger | undefined): Promise<Connection> {
    const ordered = [...urls].sort((a, b) => Number((this.#downUntil.get(a) ?? 0) > now) - Number((this.#downUntil.get(b) ?? 0) > now));
    const unreachable: string[] = [];
    for (const url of ordered) {
      let connection: Connection;
      try {
        connection = await this.connectTo(url);
      } catch (err) {
        unreachable.push(this.#markDown(url, err, log));
        continue;
      }
      this.#downUntil.delete(url);
      if (!serviceBound) return connection;
      try {
        await this.serviceBind(connection);
        return connection;
      } catch (err) {
        await destroy(connection.client);
        if (err instanceof ServiceBindRefusedError) refusals.push(err.refusal);
        else unreachable.push(this.#markDown(url, err, log));
      }
    }
    if (refusals.length === 0) this.#lastFailure = unreachable.join('; ');
    else this.#lastFailure = `service bind failed: ${refusals.join('; ')}${unreachable.length ? `; ${unreachable.join('; ')}` : ''}`;
    throw new LdapUnavailableError(refusals.length ? this.#lastFailure : `no directory server reachable: ${this.#lastFailure}`);
  }

  get #serviceAccounts(): Array<{ dn: string; password: string }> {
    return [this.#config.bind, ...(this.#config.backupBind ? [this.#config.backupBind] : [])];
  }

  #refusesEveryAccount(url: string, now: number): boolean {
    const refused = this.#refusals.get(url);
    return this.#serviceAccounts.every((_, i) => (refused?.get(i)?.until ?? 0) > now);
  }

  /** What `url` refused; for a server left out in the back-off, also when it is tried again. */
  #refusal(url: string, leftOut: boolean): string {
    const refused = [...(this.#refusals.get(url)?.values() ?? [])];
    const retry = leftOut ? `; not tried again until ${new Date(Math.min(...refused.map((r) => r.until))).toISOString()}` : '';
    return `${refused.map((r) => r.error).join('; ')} (${url}${retry})`;
  }

  /**
   * Binds as the service account, then the backup account, leaving out one that this server refused
   * within the back-off; says which one bound.
   */
  serviceBind(connection: Connection): Promise<ServiceBound> {
    const bound = (this.#serviceBindTurns.get(connection.url) ?? Promise.resolve()).then(() => this.#bindServiceAccount(connection));
    this.#serviceBindTurns.set(connection.url, bound.catch(() => undefined));
    return bound;
  }

  async #bindServiceAccount(connection: Connection): Promise<ServiceBound> {
    const { client, url } = connection;
    let refused = this.#refusals.get(url);
    if (!refused) this.#refusals.set(url, (refused = new Map()));
    const leftOut = new Set<number>();
    for (const [i, account] of this.#serviceAccounts.entries()) {
      if ((refused.get(i)?.until ?? 0) > Date.now()) {
        leftOut.add(i);
        continue;
      }
      try {
        await client.bind(account.dn, account.password);
      } catch (err) {
        // busy, unavailable…: the server judged no password, so nothing is held against the account
        if (!isLdapResult(err) || bindResultLeftUnjudged(err.code)) throw new LdapUnavailableError(`${url}: service bind as ${account.dn}: ${describeError(err)}`);
        const times = (refused.get(i)?.times ?? 0) + 1;
        const backoffMs = Math.min(this.#serviceBindBackoffMs * 2 ** (times - 1), SERVICE_BIND_BACKOFF_MAX_MS);
        const error = describeRefusal(err, connection);
        refused.set(i, { until: Date.now() + backoffMs, error: `${account.dn}: ${error}`, times });
        this.#logger?.warn({ event: 'ldap.bind.service-refused', url, dn: account.dn, error }, 'the directory server refused the service account');
        continue;
      }
      refused.delete(i);
      if (i === 0) return { dn: account.dn };
      this.#logger?.warn({ event: 'ldap.bind.backup', url, dn: account.dn }, 'service bind fell back to the backup account');
      return { dn: account.dn, mainRefused: this.#refusal(url, leftOut.has(0)) };
    }
    throw new ServiceBindRefusedError(this.#refusal(url, leftOut.size === this.#serviceAccounts.length));
  }
}
