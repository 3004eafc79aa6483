import type { KeyValue } from '../store/store.ts';
import { BoundedMap } from '../core/bounded-map.ts';
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
 * How long telling one session's applications may take (each notification has its own 2.5 s limit).
 * One that takes longer is logged and left to finish on its own, so that it cannot hold back every
 * later notice: before, one await that never returned stopped every later `session end` without a word.
 */
const NOTICE_LIMIT_MS = 30_000;
/** Sessions whose applications are told at once: the Logout Tokens of one session go out in parallel already. */
const ANNOUNCING_AT_ONCE = 16;
/** Re-authentications remembered: a notice is taken within about a second of the CLI listing the session it names. */
const REPLACEMENTS_KEPT = 10_000;

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
  /** Only while notices are taken: a pass still telling applications must not hold back the next pass's sessions from ending. */
  #taking = false;

  readonly #noticeLimitMs: number;
  /** The session a re-authentication started, by the id of the one it replaced (in this server only: it is what starts sessions). */
  readonly #replacedBy = new BoundedMap<string, string>(REPLACEMENTS_KEPT);
  /**
   * Sessions a taken notice led to that were gone: a re-authentication may have removed one and not yet
   * saved (nor named) its replacement. Only a session still held can be replaced, so a gone one stays gone.
   */
  readonly #missed = new BoundedMap<string, true>(REPLACEMENTS_KEPT);

  constructor(kv: KeyValue, sessions: SessionService, options: { noticeLimitMs?: number } = {}) {
    this.#kv = kv;
    this.#sessions = sessions;
    this.#noticeLimitMs = options.noticeLimitMs ?? NOTICE_LIMIT_MS;
    sessions.onReplaced(async (previous, next) => {
      this.#replacedBy.set(previous.id, next.id);
      // A poll took the notice in between: it goes on to the replacement, which the next poll ends.
      if (this.#missed.delete(previous.id)) await this.#kv.set(NAMESPACE, next.id, next, { ttlSeconds: NOTICE_TTL_SECONDS });
    });
  }

  /** The CLI: asks the running server to end these sessions; it does at its first poll after the shared kv store shows it the notices. */
  async end(sessions: readonly SsoSession[]): Promise<void> {
    for (const session of sessions) await this.#kv.set(NAMESPACE, session.id, session, { ttlSeconds: NOTICE_TTL_SECONDS });
  }

  /** Whether an administrator's end of the session waits for the server to take it: for the CLI, that session is ended already. */
  async ending(sessionId: string): Promise<boolean> {
    return (await this.#kv.get(NAMESPACE, sessionId)) !== undefined;
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

  /**
   * One pass; each notice is taken once (consume), so no application is told twice. Every session
   * is ended first, then the applications are told, ANNOUNCING_AT_ONCE sessions at a time: told one
   * after another (each up to 2.5 s per application), the last of 2,000 sessions went on signing in
   * and refreshing for over an hour after `session end --all`. Only the taking is one pass at a time:
   * a pass still telling a slow application's endpoint about an earlier command's sessions (2.5 s per
   * round of 16) held back the sessions of every later command from ending, for minutes after a large
   * one. Returns how many sessions ended and had their applications told within the limit.
   */
  async deliver(context: LogoutContext): Promise<number> {
    if (this.#taking || (await this.#kv.count(NAMESPACE)) === 0) return 0;
    this.#taking = true;
    const ended: SsoSession[] = [];
    try {
      for (const [id] of await this.#kv.entries<SsoSession>(NAMESPACE)) {
        const session = await this.#take(id);
        if (session) ended.push(session);
      }
    } catch (error) {
      context.log.error({ code: 'ADMIN_LOGOUT_FAILED', err: error }, 'session: telling the applications of sessions an administrator ended failed; retried in a second');
    } finally {
      this.#taking = false;
    }
    let delivered = 0;
    const announce = async (session: SsoSession) => {
      const outcome = await withinLimit(this.#sessions.announceLogout(session, context), this.#noticeLimitMs);
      if (outcome === OVER_LIMIT) context.log.error({ code: 'ADMIN_LOGOUT_STALLED', limitMs: this.#noticeLimitMs }, 'session: telling the applications of a session an administrator ended takes too long; going on with the next ones');
      else delivered++;
    };
    const queue = [...ended];
    try {
      await Promise.all(Array.from({ length: Math.min(ANNOUNCING_AT_ONCE, queue.length) }, async () => {
        for (let session = queue.shift(); session; session = queue.shift()) await announce(session);
      }));
    } catch (error) {
      // The poller does not await a pass: a rejection here would be unhandled.
      context.log.error({ code: 'ADMIN_LOGOUT_FAILED', err: error }, 'session: telling the applications of sessions an administrator ended failed');
    }
    return delivered;
  }

  /**
   * Takes a notice and ends its session; undefined when it was taken already, or the user signed out
   * meanwhile (its applications were told then). When the same user signed in again in that browser
   * (prompt=login, ForceAuthn) between the command and this poll, the new session ends instead: it
   * carries the old one's applications and second factors, and so went on with them, MFA included
   * after an `mfa reset`, while the command said the session had ended. Also when this poll came while
   * that sign-in had removed the old session and not yet saved the new one (see #missed).
   */
  async #take(id: string): Promise<SsoSession | undefined> {
    const notice = await this.#kv.consume<SsoSession>(NAMESPACE, id);
    if (!notice) return undefined;
    let last = id;
    for (let current: string | undefined = id, hops = 0; current !== undefined && hops < REPLACEMENTS_KEPT; current = this.#replacedBy.get(current), hops++) {
      last = current;
      const session = await this.#sessions.take(current);
      if (session) return session;
    }
    this.#missed.set(last, true);
    return undefined;
  }
}
