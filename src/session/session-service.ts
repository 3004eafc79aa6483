import type { Request, Response } from 'express';
import type { KeyValue } from '../store/store.ts';
import { updateWithRetry } from '../store/update-with-retry.ts';
import type { Clock } from '../core/clock.ts';
import type { Factor, User } from '../core/types.ts';
import { randomId } from '../core/ids.ts';
import { AppError } from '../core/errors.ts';
import type { SessionParticipant, SsoSession } from './sso-session.ts';
import type { CookieJar } from '../http/cookies.ts';
import type { Logger } from '../core/log.ts';

const NAMESPACE = 'sso-session';
/** lastSeenAt is refreshed at most this often, so reading a session is not a write on every request. */
const TOUCH_INTERVAL_MS = 60_000;
/**
 * A session idles out up to one touch interval before idleTimeoutMinutes after its last use: with a
 * short timeout the interval shrinks to this part of it (2 s for a minute), or a one-minute timeout
 * could never be moved on and would end the session a minute after sign-in whatever its use.
 */
const TOUCHES_PER_IDLE_TIMEOUT = 30;
/** A change that lost its compare-and-set to another change of the same session is tried again, this often at most. */
const UPDATE_ATTEMPTS = 10;

export interface SessionSettings {
  cookieName: string;
  idleTimeoutMinutes: number;
  absoluteTimeoutHours: number;
}

/**
 * Where a logout happens, for the listeners' logs and audit: a browser's request (an Express request
 * is one), or the server acting on an administrator's command with no browser involved.
 */
export interface LogoutContext {
  log: Logger;
  requestId?: string;
  /** What ended the session, for the listeners' audit (what they tell relying parties is the same whatever it was). */
  trigger: LogoutTrigger;
}

export type LogoutTrigger = 'sso-logout' | 'saml-slo' | 'oidc-rp-initiated' | 'another-user-signed-in' | 'account-unavailable' | 'admin';

/** A browser's request as the context of a logout it caused. */
export function logoutIn(req: Request, trigger: LogoutTrigger): LogoutContext {
  return { log: req.log, requestId: req.requestId, trigger };
}

/**
 * Told when an SSO session ends by a sign-out, an administrator, or its account's removal (not when
 * it times out, nor when the same user's new sign-in in the same browser replaces it): protocols
 * that must tell their relying parties register one. Must not throw for a relying party's failure;
 * a rejection is logged and the logout goes on.
 */
export type LogoutListener = (ended: SsoSession, context: LogoutContext) => Promise<void>;

/**
 * Told when the same user's new sign-in in a browser (a re-authentication: ForceAuthn, prompt=login,
 * max_age) replaces its SSO session with a new one: whatever refers to the old session's id must
 * refer to the new one, whichever protocol asked for the re-authentication.
 */
export type SessionReplacedListener = (previous: SsoSession, next: SsoSession) => Promise<void>;

/**
 * Told when a browser's use of an SSO session moved its idle timeout on (at most once a touch
 * interval per session), with the session as it is now: whatever lasts only while the
 * browser can still use the session (liveForBrowserUntil) lasts longer.
 */
export type SessionUsedListener = (session: SsoSession) => Promise<void>;

/** A started session, and the previous user's session this browser held, which the start ended. */
export interface StartedSession {
  session: SsoSession;
  endedForAnotherUser?: SsoSession;
}

export class SessionService {
  readonly #kv: KeyValue;
  readonly #settings: SessionSettings;
  readonly #clock: Clock;
  readonly #cookies: CookieJar;
  readonly #logoutListeners: LogoutListener[] = [];
  readonly #replacedListeners: SessionReplacedListener[] = [];
  readonly #usedListeners: SessionUsedListener[] = [];

  constructor(kv: KeyValue, settings: SessionSettings, clock: Clock, cookies: CookieJar) {
    this.#kv = kv;
    this.#settings = settings;
    this.#clock = clock;
    this.#cookies = cookies;
  }

  get #idleMs(): number {
    return this.#settings.idleTimeoutMinutes * 60_000;
  }

  /** The idle timeout's precision: the session is written for its use at most this often. */
  get #touchIntervalMs(): number {
    return Math.min(TOUCH_INTERVAL_MS, this.#idleMs / TOUCHES_PER_IDLE_TIMEOUT);
  }

  get #absoluteMs(): number {
    return this.#settings.absoluteTimeoutHours * 3_600_000;
  }

  /** The live session of this browser, or undefined when absent, idle too long or past its absolute lifetime. */
  async current(req: Request): Promise<SsoSession | undefined> {
    const id = this.#cookies.read(req, this.#settings.cookieName);
    return id ? this.byId(id) : undefined;
  }

  async byId(id: string): Promise<SsoSession | undefined> {
    const session = await this.#kv.get<SsoSession>(NAMESPACE, id);
    if (!session) return undefined;
    const now = this.#clock.now();
    // The browser's own use only: a client's tokens keep the session for the client, not the
    // browser open (an unattended browser signs out idleTimeoutMinutes after its last use).
    if (this.#expired(session, now, 'browser')) {
      // Kept while a client's access token still counts as use: its refresh must find the session.
      if (this.#expired(session, now, 'tokens')) await this.#kv.delete(NAMESPACE, id);
      return undefined;
    }
    if (now - session.lastSeenAt > this.#touchIntervalMs) {
      const touched = await this.#update(id, (current) => ({ ...current, lastSeenAt: now }));
      if (touched) await Promise.all(this.#usedListeners.map((listener) => listener(touched)));
      return touched;
    }
    return this.#withLiveFactors(session, now);
  }

  /**
   * The session if it is live, without counting the read as use: for checks of whether a sign-in
   * still stands that are not a use of it by themselves (a relying party's back end: the session
   * binding of a code or token, userinfo, introspection, a refresh grant's policy check).
   */
  async peek(id: string): Promise<SsoSession | undefined> {
    const session = await this.#kv.get<SsoSession>(NAMESPACE, id);
    const now = this.#clock.now();
    return session && !this.#expired(session, now, 'tokens') ? this.#withLiveFactors(session, now) : undefined;
  }

  /**
   * The session without the kept factors (see start) older than a session may last: the session
   * itself started at its re-authentication, so its own end would let a code typed once count for
   * nearly twice absoluteTimeoutHours.
   */
  #withLiveFactors(session: SsoSession, now: number): SsoSession {
    const { keptFactors } = session;
    if (!keptFactors) return session;
    const lapsed = (factor: Factor) => keptFactors.includes(factor.method) && now - factor.at > this.#absoluteMs;
    if (!session.factors.some(lapsed)) return session;
    const factors = session.factors.filter((factor) => !lapsed(factor));
    const stillKept = keptFactors.filter((method) => factors.some((factor) => factor.method === method));
    const { keptFactors: _dropped, ...rest } = session;
    return { ...rest, factors, ...(stillKept.length ? { keptFactors: stillKept } : {}) };
  }

  /**
   * The session this browser's cookie names while it still stands for anyone (its clients' tokens
   * included), without counting the look as the browser's use: for signing out. A browser idle past
   * its own timeout has to sign in again, yet its session may still back its applications' tokens;
   * signing out must end it and tell them, and offering the sign-out must not keep it alive.
   */
  async toSignOut(req: Request): Promise<SsoSession | undefined> {
    const id = this.#cookies.read(req, this.#settings.cookieName);
    return id ? this.peek(id) : undefined;
  }

  /** Whether the browser's own idle timeout has not ended the session for it (no read counted as use). */
  isLiveForBrowser(session: SsoSession): boolean {
    return !this.#expired(session, this.#clock.now(), 'browser');
  }

  /** When the session ends whatever its use (its absolute lifetime), epoch ms. */
  endsAt(session: SsoSession): number {
    return session.createdAt + this.#absoluteMs;
  }

  /** Until when the browser can use the session (epoch ms) unless it uses it again: its idle timeout, or its absolute end. */
  liveForBrowserUntil(session: SsoSession): number {
    return Math.min(session.lastSeenAt + this.#idleMs, this.endsAt(session));
  }

  /**
   * An OIDC client was just given an access token from this session (a code exchange, or a refresh
   * its policy permitted) that it may use until `until`: for the client's back end (peek: refresh,
   * userinfo, the provider session's backing) the session is in use until then, and goes idle only
   * idleTimeoutMinutes after it. So a client that refreshes when its access token expires (most do)
   * finds the session it came from. The browser's idle timeout does not move: it counts the browser's
   * own use (byId). The absolute lifetime never moves. Written only when it moves the time by more than the touch interval:
   * the refresh grant is a hot path, and a minute (a thirtieth of a shorter timeout) is fine enough.
   */
  async usedByTokensUntil(session: SsoSession, until: number): Promise<void> {
    if (until - (session.tokensUsableUntil ?? 0) <= this.#touchIntervalMs) return;
    await this.#update(session.id, (current) => ({ ...current, tokensUsableUntil: Math.max(current.tokensUsableUntil ?? 0, until) }));
  }

  onLogout(listener: LogoutListener): void {
    this.#logoutListeners.push(listener);
  }

  onReplaced(listener: SessionReplacedListener): void {
    this.#replacedListeners.push(listener);
  }

  onUsed(listener: SessionUsedListener): void {
    this.#usedListeners.push(listener);
  }

  /**
   * Starts a new session after primary authentication, under a new id (no fixation); any previous one
   * of this browser ends. A re-authentication of the same user carries the applications it signed in
   * to over to the new session (its SAML participants here, the OIDC clients' sessions through the
   * replaced listeners): nobody is told, and a later logout still reaches them all. It also keeps the
   * second factors the previous session proved (if the browser still held it), with the times they were proved, marked as kept: an
   * application that asked for the password again does not take away the MFA its neighbours' tokens
   * stand on, and a freshness window still counts from when the factor was used. Another person
   * signing in on this browser ends the previous one's sign-in, and that is a logout for their applications.
   */
  async start(req: Request, res: Response, user: User, factors: Factor[], login?: string): Promise<StartedSession> {
    const previous = await this.#remove(req, res);
    const reauthentication = previous?.user.id === user.id ? previous : undefined;
    if (previous && !reauthentication) await this.announceLogout(previous, logoutIn(req, 'another-user-signed-in'));
    const now = this.#clock.now();
    // Only from a session the browser still holds (not one idled out: whoever sits at an unattended
    // browser with the password must not inherit its code), and never a proof older than a session may
    // last: re-authenticating again and again must not keep one code valid past absoluteTimeoutHours.
    const keepable = reauthentication && this.isLiveForBrowser(reauthentication) ? reauthentication.factors : [];
    const kept = keepable.filter((earlier) => now - earlier.at <= this.#absoluteMs && !factors.some((factor) => factor.method === earlier.method));
    const session: SsoSession = {
      id: randomId(),
      user,
      createdAt: now,
      lastSeenAt: now,
      authTime: now,
      factors: [...factors, ...kept],
      ...(kept.length ? { keptFactors: kept.map((factor) => factor.method) } : {}),
      participants: reauthentication?.participants ?? [],
      signInIp: req.clientIp,
      ...(login !== undefined ? { login } : {}),
    };
    await this.#save(session);
    if (reauthentication) await Promise.all(this.#replacedListeners.map((listener) => listener(reauthentication, session)));
    // A browser-session cookie (no Max-Age): closing the browser ends the sign-in in it, as on a shared
    // or kiosk computer users expect; the idle and absolute timeouts are the server's, either way.
    this.#cookies.set(res, this.#settings.cookieName, session.id);
    return previous && !reauthentication ? { session, endedForAnotherUser: previous } : { session };
  }

  /** Throws TRANSACTION_UNKNOWN when the session ended meanwhile (a logout while the code was checked). */
  async addFactor(session: SsoSession, factor: Factor): Promise<SsoSession> {
    return this.#updateLive(session.id, (current) => {
      const { keptFactors, ...rest } = current;
      const stillKept = keptFactors?.filter((method) => method !== factor.method) ?? [];
      return { ...rest, factors: [...current.factors.filter((f) => f.method !== factor.method), factor], ...(stillKept.length ? { keptFactors: stillKept } : {}) };
    });
  }

  /** Throws TRANSACTION_UNKNOWN when the session ended meanwhile. */
  async addParticipant(session: SsoSession, participant: SessionParticipant): Promise<void> {
    await this.#updateLive(session.id, (current) => {
      const others = current.participants.filter((p) => !(p.protocol === participant.protocol && p.rpId === participant.rpId));
      return { ...current, participants: [...others, participant] };
    });
  }

  /** The user signs out: this browser's session ends and the logout listeners are told (they run in parallel). */
  async end(req: Request, res: Response, trigger: Extract<LogoutTrigger, 'sso-logout' | 'saml-slo' | 'oidc-rp-initiated'>): Promise<SsoSession | undefined> {
    const session = await this.#remove(req, res);
    if (session) await this.announceLogout(session, logoutIn(req, trigger));
    return session;
  }

  /** Tells the logout listeners that `ended` ended (it must be gone from the store already). */
  async announceLogout(ended: SsoSession, context: LogoutContext): Promise<void> {
    const outcomes = await Promise.allSettled(this.#logoutListeners.map((listener) => listener(ended, context)));
    for (const outcome of outcomes) {
      // Never the session id: it is the cookie's value.
      if (outcome.status === 'rejected') context.log.error({ event: 'session.logout-listener-failed', err: outcome.reason, userId: ended.user.id }, 'session: a logout listener failed');
    }
  }

  /** Every live session (administration: `session list`, `session end`); not for the sign-in path. */
  async live(): Promise<SsoSession[]> {
    const now = this.#clock.now();
    return (await this.#kv.entries<SsoSession>(NAMESPACE)).map(([, session]) => session).filter((session) => !this.#expired(session, now, 'tokens'));
  }

  /**
   * Past its absolute lifetime, or idle too long: since the browser's last use (`browser`), or since
   * that or a client's access token's expiry, whichever is later (`tokens`).
   */
  #expired(session: SsoSession, now: number, counting: 'browser' | 'tokens'): boolean {
    const lastUse = counting === 'browser' ? session.lastSeenAt : Math.max(session.lastSeenAt, session.tokensUsableUntil ?? 0);
    return now - lastUse > this.#idleMs || now - session.createdAt > this.#absoluteMs;
  }

  async #remove(req: Request, res: Response): Promise<SsoSession | undefined> {
    const id = this.#cookies.read(req, this.#settings.cookieName);
    this.#cookies.clear(res, this.#settings.cookieName);
    if (!id) return undefined;
    return this.take(id);
  }

  /**
   * Ends a session from outside its browser (its account is gone): the logout listeners are told as
   * for a sign-out. False when it had already ended.
   */
  async revoke(session: SsoSession, context: LogoutContext): Promise<boolean> {
    const ended = await this.take(session.id);
    if (ended) await this.announceLogout(ended, context);
    return ended !== undefined;
  }

  /** Removes a session and returns it, without telling anyone; undefined when it was not there. */
  take(id: string): Promise<SsoSession | undefined> {
    return this.#kv.consume<SsoSession>(NAMESPACE, id);
  }

  /** The directory's current answer for the session's user (same id): groups, names, attributes. */
  async replaceUser(session: SsoSession, user: User): Promise<SsoSession> {
    return this.#updateLive(session.id, (current) => ({ ...current, user }));
  }

  async #updateLive(id: string, change: (current: SsoSession) => SsoSession): Promise<SsoSession> {
    const updated = await this.#update(id, change);
    if (!updated) throw new AppError('TRANSACTION_UNKNOWN', { detail: { reason: 'session-ended' } });
    return updated;
  }

  /**
   * Changes a session only while it still exists, and only from its current value. A request holds
   * its copy across awaits (a code check, a directory lookup); a plain write of that copy after a
   * logout or an administrator's `session end` brought the ended session back, with the new factor.
   * undefined when the session is gone.
   */
  async #update(id: string, change: (current: SsoSession) => SsoSession): Promise<SsoSession | undefined> {
    const updated = await updateWithRetry<SsoSession, SsoSession | undefined>(
      this.#kv,
      NAMESPACE,
      id,
      (current) => {
        if (!current) return { result: undefined };
        const next = change(current);
        return { next, options: this.#storeOptions(next), result: next };
      },
      UPDATE_ATTEMPTS,
    );
    // Every session handed out is seen through #withLiveFactors, the one place kept factors lapse.
    return updated && this.#withLiveFactors(updated, this.#clock.now());
  }

  async #save(session: SsoSession): Promise<void> {
    await this.#kv.set(NAMESPACE, session.id, session, this.#storeOptions(session));
  }

  #storeOptions(session: SsoSession): { ttlSeconds: number } {
    const remainingMs = this.endsAt(session) - this.#clock.now();
    return { ttlSeconds: Math.max(1, Math.ceil(remainingMs / 1000)) };
  }
}
