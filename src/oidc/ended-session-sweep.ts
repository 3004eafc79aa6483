import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { SessionService } from '../session/session-service.ts';
import type { SsoLinks } from './sso-links.ts';
import type { SessionGrants } from './session-grants.ts';
import { SIGN_IN_LIFETIME_SECONDS } from '../login/transaction.ts';

/** A sweep starts at most this often. */
const SWEEP_INTERVAL_MS = 5 * 60_000;
/**
 * An SSO session found ended is left alone this long, and until a later sweep, before its provider
 * sessions are removed. Its record may have gone because a logout or a re-authentication took it,
 * and they may still be at work: a logout's back-channel notices read the provider sessions, and a
 * re-authentication moves their links to the new session (which must keep everything) only when its
 * sign-in finishes, which may take the whole life of a sign-in (the password page left open after a
 * wrong password, say). A session that timed out stays ended.
 */
const SETTLE_MS = (SIGN_IN_LIFETIME_SECONDS + 60) * 1000;
/** Links looked at between two turns of the event loop. */
const SWEEP_SLICE = 500;

/**
 * How much longer than their SSO session can last provider sessions and their links are kept: the
 * sweep finds an SSO session ended only through them, and it runs only while the provider gets
 * requests (a quiet night may have none) and not while the server is stopped. Those the sweep
 * reaches go at once anyway, so the margin costs nothing while it runs. A session that ended more
 * than this before the next sweep leaves its grants and tokens to their own expiry.
 */
export const SWEEP_MARGIN_SECONDS = 24 * 3600;

export interface EndedSessionSweepDeps {
  links: SsoLinks;
  sessions: Pick<SessionService, 'peek'>;
  grants: SessionGrants;
  clock: Clock;
  logger: Logger;
}

/**
 * Removes what oidc-provider holds for SSO sessions that ended without a logout: idle for the browser
 * and for their clients' tokens, or past their absolute lifetime (the session service's own rule,
 * `peek`). A logout removes it at once; a timeout is no event, so the links are swept: every provider
 * session whose SSO session has ended loses its grants, tokens, the session itself and its link.
 * Nothing is told and nothing audited: a timeout is not a logout (no Logout Tokens, as before).
 * Started by requests to the provider (startIfDue), like the journal's compaction by its writes: a
 * clock comparison per request, the sweep itself in the background, a slice at a time.
 */
export class EndedSessionSweep {
  readonly #deps: EndedSessionSweepDeps;
  #lastStart: number;
  #running = false;
  /** Provider session uid → the ended SSO session its link named when a sweep first found it ended, and when. */
  #ended = new Map<string, { ssoSessionId: string; since: number }>();

  constructor(deps: EndedSessionSweepDeps) {
    this.#deps = deps;
    this.#lastStart = deps.clock.now();
  }

  startIfDue(): void {
    const now = this.#deps.clock.now();
    if (this.#running || now - this.#lastStart < SWEEP_INTERVAL_MS) return;
    this.#lastStart = now;
    this.#running = true;
    this.sweep()
      .catch((error: unknown) => this.#deps.logger.error({ event: 'oidc.ended-sessions-sweep-failed', err: error }, 'oidc: removing the grants of ended sessions failed; tried again at the next sweep'))
      .finally(() => (this.#running = false));
  }

  async sweep(): Promise<void> {
    const { links, sessions, grants, clock } = this.#deps;
    const all = await links.all();
    const ended = new Map<string, { ssoSessionId: string; since: number }>();
    let removed = 0;
    for (const [index, [uid, ssoSessionId]] of all.entries()) {
      if (index > 0 && index % SWEEP_SLICE === 0) await nextTurn();
      // Read again: the link may have moved (a re-authentication) or gone (a logout) since the list was taken.
      if ((await links.get(uid)) !== ssoSessionId || (await sessions.peek(ssoSessionId))) continue;
      const found = this.#ended.get(uid);
      const now = clock.now();
      if (found?.ssoSessionId !== ssoSessionId || now - found.since < SETTLE_MS) {
        ended.set(uid, found?.ssoSessionId === ssoSessionId ? found : { ssoSessionId, since: now });
        continue;
      }
      await grants.end(uid);
      removed++;
    }
    this.#ended = ended;
    this.#deps.logger.debug({ event: 'oidc.ended-sessions-swept', links: all.length, removed, waiting: ended.size }, `oidc: ${removed} provider sessions of ended SSO sessions removed, with their grants and tokens`);
  }
}
