import type { CliContext } from './command.ts';
import type { SsoSession } from '../session/sso-session.ts';
import { SessionService } from '../session/session-service.ts';
import { AdminLogouts } from '../session/admin-logouts.ts';
import { oidcClientsOf } from '../oidc/session-clients.ts';
import type { KeyValue } from '../store/store.ts';
import type { User } from '../core/types.ts';
import { CookieJar } from '../http/cookies.ts';
import { auditAdminAction } from './admin-audit.ts';
import { withDirectory } from './with-directory.ts';
import { terminalSafe } from '../core/terminal-text.ts';

/** A user's live sessions as `--user` names them, and what the administrator should know about how they were found. */
export interface UserSessions {
  /** The directory's name for the user when it knows them, else the name as typed. */
  name: string;
  sessions: SsoSession[];
  notes: string[];
}

/**
 * SSO sessions as an administrator sees them from the CLI: never their ids (an id is the browser's
 * cookie value), only a handle derived from it with the secret key.
 */
export class SessionAdmin {
  readonly #context: CliContext;
  readonly #sessions: SessionService;
  readonly #logouts: AdminLogouts;
  readonly #kv: KeyValue;

  private constructor(context: CliContext, kv: KeyValue, sessions: SessionService, logouts: AdminLogouts) {
    this.#context = context;
    this.#kv = kv;
    this.#sessions = sessions;
    this.#logouts = logouts;
  }

  static async open(context: CliContext): Promise<SessionAdmin> {
    const { config, clock } = context;
    const { kv } = await context.store();
    const sessions = new SessionService(kv, config.session, clock, new CookieJar(config.server.publicUrl));
    return new SessionAdmin(context, kv, sessions, new AdminLogouts(kv, sessions));
  }

  /** The OIDC clients the session signed in to (SAML ones are its participants). */
  oidcClients(session: SsoSession): Promise<string[]> {
    return oidcClientsOf(this.#kv, this.#context.clock, this.#sessions, session.id);
  }

  /** 12 characters (72 bits) of the MAC; leading "-" skipped, or the command line would read the handle as an option. */
  handle(session: SsoSession): string {
    return this.#context.box().mac('session-handle', session.id).replace(/^-+/, '').slice(0, 12);
  }

  /**
   * Every live session, oldest sign-in first, but those an earlier command ended that the server has
   * yet to take (up to about two seconds; a day while it is down): ended again, each was counted and
   * audited twice, and session end said it ended a session that was ended already.
   */
  async list(): Promise<SsoSession[]> {
    // The store was read when the command opened it: a session the server started since (a sign-in
    // that ended while the command looked the user up or changed the account) would outlive the command.
    await this.#kv.catchUp?.();
    const live = await this.#sessions.live();
    const ending = await Promise.all(live.map((session) => this.#logouts.ending(session.id)));
    return live.filter((_, index) => !ending[index]).sort((a, b) => a.createdAt - b.createdAt);
  }

  /**
   * The live sessions of the user `login` names. A session stores its user as they were at sign-in
   * (an LDAP user may have been renamed since), so the directory says who `login` is and sessions
   * are matched by user id. The stored name is matched only when the directory has no such user (a
   * removed one may still have sessions) or cannot be asked: when it has one, the sessions stored
   * under that name with another id are a renamed user's, who is not the one meant.
   */
  async sessionsOf(login: string): Promise<UserSessions> {
    const live = await this.list();
    const typed = login.trim().toLowerCase();
    const storedUnderName = (session: SsoSession) => session.user.username.toLowerCase() === typed;
    const byIdOrStoredName = live.filter((session) => session.user.id === login || storedUnderName(session));
    let user: User | null;
    try {
      user = await withDirectory(this.#context, (directory) => directory.findUser(login));
    } catch (error) {
      const note = `The ${this.#context.config.directory.kind} directory could not be asked which user "${login}" is (${(error as Error).message}): matched the user id and the name each session's user had at sign-in instead.`;
      return { name: login, sessions: byIdOrStoredName, notes: [note] };
    }
    if (!user) return { name: login, sessions: byIdOrStoredName, notes: [] };
    const sessions = live.filter((session) => session.user.id === user.id);
    const renamed = live.filter((session) => session.user.id !== user.id && storedUnderName(session));
    const notes = renamed.length === 0 ? [] : [`Not included: ${renamed.length} session${renamed.length === 1 ? '' : 's'} of another user who was "${login}" at sign-in (user id ${[...new Set(renamed.map((session) => session.user.id))].join(', ')}); give --user USER_ID for them.`];
    return { name: user.username, sessions, notes };
  }

  /**
   * Ends every live session of the user: for account changes that must sign them out everywhere
   * (disabled, removed, a password or a second factor reset). Returns what to tell the administrator.
   */
  async endSessionsOf(user: { id: string; username: string }, reason: string): Promise<string[]> {
    const sessions = await this.endSessionsOfUsers([user.id], reason);
    if (sessions.length === 0) return [`${user.username} had no live SSO session to end.`];
    return [`Ended ${sessions.length} SSO session${sessions.length === 1 ? '' : 's'}.`, ...SessionAdmin.afterEnd(sessions)];
  }

  /** endSessionsOf for several users at once (an import that changed their passwords or second factors); returns the sessions it ended. */
  async endSessionsOfUsers(userIds: readonly string[], reason: string): Promise<SsoSession[]> {
    const ids = new Set(userIds);
    const sessions = (await this.list()).filter((session) => ids.has(session.user.id));
    if (sessions.length > 0) await this.end(sessions, reason);
    return sessions;
  }

  /**
   * Ends the sessions of the users an import changed as `user set-password`, `user disable` and
   * `mfa reset` end them for one user (`change`: what the import did to them, e.g. "whose password the
   * import changed", "whom the import disabled"), and says so in one line for all of them; nothing
   * when none of them had a live session (the import's own lines name the changes).
   */
  async endSessionsAfterImport(users: ReadonlyArray<{ id: string; username: string }>, change: string, reason: string): Promise<string[]> {
    const sessions = await this.endSessionsOfUsers(users.map((user) => user.id), reason);
    if (sessions.length === 0) return [];
    const names = users.map((user) => terminalSafe(user.username)).join(', ');
    const whose = `${users.length === 1 ? 'the user' : `the ${users.length} users`} ${change} (${names})`;
    return [`Ended ${sessions.length} SSO session${sessions.length === 1 ? '' : 's'} of ${whose}.`, ...SessionAdmin.afterEnd(sessions)];
  }

  /**
   * Has the server end the sessions (within about two seconds; when it is down, as it starts) and
   * tell their OIDC clients (back-channel logout). Each one is audited.
   */
  async end(sessions: readonly SsoSession[], reason: string): Promise<void> {
    await this.#logouts.end(sessions);
    for (const session of sessions) {
      await auditAdminAction(this.#context, { type: 'session.ended', outcome: 'info', reason, userId: session.user.id, username: session.user.username, session: this.handle(session) });
    }
  }

  /** What the admin should know about the applications of sessions just ended. */
  static afterEnd(ended: readonly SsoSession[]): string[] {
    const samlApps = [...new Set(ended.flatMap((session) => session.participants.filter((p) => p.protocol === 'saml').map((p) => p.rpId)))];
    const lines = ['The running server ends them within seconds (a stopped one as it starts): their browsers must sign in again, their refresh tokens stop working, and OIDC clients with a back-channel logout URI are told.'];
    if (samlApps.length > 0) {
      lines.push(`Not told (SAML logout needs the user's browser); their own sessions last until they expire: ${samlApps.join(', ')}`);
    }
    return lines;
  }
}
