import type { KeyValue } from '../store/store.ts';
import { OVER_LIMIT, withinLimit } from '../core/time-limit.ts';
import type { Logger } from '../core/log.ts';
import type { SsoSession } from './sso-session.ts';
import type { LogoutContext, SessionService } from './session-service.ts';

/** Sessions an administrator ended from another process (the CLI), waiting for the server to tell their applications. */
const NAMESPACE = 'sso-admin-logout';
/** A notice the server has not delivered within a day (it was down) is dropped: the applications' own sessions are long over. */
const NOTICE_TTL_SECONDS = 86_400;
const POLL_MS = 1_000;
/**
 * How long one notice may take (its session's removal and its applications' notifications, each of
 * which has its own 2.5 s limit). One that takes longer is logged and left to finish on its own, so
 * that it cannot hold back every later notice: before, one await that never returned stopped every
 * later `session end` without a word.
 */
const NOTICE_LIMIT_MS = 30_000;

/**
 * Logouts an administrator makes with the CLI. The CLI leaves a notice per session; the running
 * server takes each notice once, ends the session and tells its applications as a sign-out would
 * (SessionService's logout listeners: the CLI has neither the protocols' clients nor their keys).
 * The server, not the CLI, removes the session: it is the only writer of sessions, so a request
 * that touches the session in the same moment can never write it back after the removal (the
 * journal replays writes in file order at the next start). A notice waits for a server that is down.
 */
export class AdminLogouts {
  readonly #kv: KeyValue;
  readonly #sessions: SessionService;
  #timer: NodeJS.Timeout | undefined;
  #delivering = false;

  readonly #noticeLimitMs: number;

  constructor(kv: KeyValue, sessions: SessionService, options: { noticeLimitMs?: number } = {}) {
    this.#kv = kv;
    this.#sessions = sessions;
    this.#noticeLimitMs = options.noticeLimitMs ?? NOTICE_LIMIT_MS;
  }

  /** The CLI: asks the running server to end these sessions; it does at its first poll after the shared kv store shows it the notices. */
  async end(sessions: readonly SsoSession[]): Promise<void> {
    for (const session of sessions) await this.#kv.set(NAMESPACE, session.id, session, { ttlSeconds: NOTICE_TTL_SECONDS });
  }

  /** The server: delivers the notices left while it was down at once, then about once a second. */
  start(logger: Logger): void {
    if (this.#timer) return;
    void this.deliver({ log: logger, trigger: 'admin' });
    this.#timer = setInterval(() => void this.deliver({ log: logger, trigger: 'admin' }), POLL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One pass; each notice is taken once (consume), so no application is told twice. Returns how many were delivered. */
  async deliver(context: LogoutContext): Promise<number> {
    if (this.#delivering || (await this.#kv.count(NAMESPACE)) === 0) return 0;
    this.#delivering = true;
    let delivered = 0;
    try {
      for (const [id] of await this.#kv.entries<SsoSession>(NAMESPACE)) {
        const outcome = await withinLimit(this.#deliverOne(id, context), this.#noticeLimitMs);
        if (outcome === 'delivered') delivered++;
        if (outcome === OVER_LIMIT) context.log.error({ code: 'ADMIN_LOGOUT_STALLED', limitMs: this.#noticeLimitMs }, 'session: ending a session an administrator ended takes too long; going on with the next ones');
      }
    } catch (error) {
      context.log.error({ err: error }, 'session: telling the applications of sessions an administrator ended failed; retried in a second');
    } finally {
      this.#delivering = false;
    }
    return delivered;
  }

  async #deliverOne(id: string, context: LogoutContext): Promise<'delivered' | 'none'> {
    const notice = await this.#kv.consume<SsoSession>(NAMESPACE, id);
    if (!notice) return 'none';
    // Gone already when the user signed out meanwhile: then its applications were told then.
    const ended = await this.#sessions.take(id);
    if (!ended) return 'none';
    await this.#sessions.announceLogout(ended, context);
    return 'delivered';
  }
}
