import type { KeyValue } from '../store/store.ts';
import type { Logger } from '../core/log.ts';
import type { SsoSession } from './sso-session.ts';
import type { LogoutContext, SessionService } from './session-service.ts';

/** Sessions an administrator ended from another process (the CLI), waiting for the server to tell their applications. */
const NAMESPACE = 'sso-admin-logout';
/** A notice the server has not delivered within a day (it was down) is dropped: the applications' own sessions are long over. */
const NOTICE_TTL_SECONDS = 86_400;
const POLL_MS = 1_000;

/**
 * Logouts an administrator makes with the CLI. The CLI cannot tell the applications itself (the
 * server holds the protocols' clients and keys), so it ends the sessions in the shared store and
 * leaves a notice per session; the running server takes each notice once and tells the session's
 * applications as a sign-out would (SessionService's logout listeners). A notice waits for a server
 * that is down.
 */
export class AdminLogouts {
  readonly #kv: KeyValue;
  readonly #sessions: SessionService;
  #timer: NodeJS.Timeout | undefined;
  #delivering = false;

  constructor(kv: KeyValue, sessions: SessionService) {
    this.#kv = kv;
    this.#sessions = sessions;
  }

  /**
   * The CLI: ends these sessions now and leaves their notices. The notice is written before the
   * session is removed, so a removed session never lacks one. Returns the sessions that were still there.
   */
  async end(sessions: readonly SsoSession[]): Promise<SsoSession[]> {
    const ended: SsoSession[] = [];
    for (const session of sessions) {
      await this.#kv.set(NAMESPACE, session.id, session, { ttlSeconds: NOTICE_TTL_SECONDS });
      if (await this.#sessions.take(session.id)) ended.push(session);
      else await this.#kv.delete(NAMESPACE, session.id);
    }
    return ended;
  }

  /** The server: delivers notices about once a second. */
  start(logger: Logger): void {
    this.#timer ??= setInterval(() => void this.deliver({ log: logger }), POLL_MS);
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
        const ended = await this.#kv.consume<SsoSession>(NAMESPACE, id);
        if (!ended) continue;
        // Already gone unless the CLI's removal has not reached this process yet.
        await this.#sessions.take(id);
        await this.#sessions.announceLogout(ended, context);
        delivered++;
      }
    } catch (error) {
      context.log.error({ err: error }, 'session: telling the applications of sessions an administrator ended failed; retried in a second');
    } finally {
      this.#delivering = false;
    }
    return delivered;
  }
}
