import type { CliContext } from './command.ts';
import type { SsoSession } from '../session/sso-session.ts';
import { SessionService } from '../session/session-service.ts';
import { AdminLogouts } from '../session/admin-logouts.ts';
import { oidcClientsOf } from '../oidc/session-clients.ts';
import type { KeyValue } from '../store/store.ts';
import { CookieJar } from '../http/cookies.ts';
import { auditAdminAction } from './admin-audit.ts';

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

  /** Live sessions, oldest sign-in first; `user` matches a username (any case) or a user id. */
  async list(user?: string): Promise<SsoSession[]> {
    const wanted = user?.toLowerCase();
    const sessions = await this.#sessions.live();
    return sessions.filter((session) => wanted === undefined || session.user.username.toLowerCase() === wanted || session.user.id === user).sort((a, b) => a.createdAt - b.createdAt);
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
    const lines = ['The running server ends them within seconds: their browsers must sign in again, their refresh tokens stop working, and OIDC clients with a back-channel logout URI are told.'];
    if (samlApps.length > 0) {
      lines.push(`Not told (SAML logout needs the user's browser); their own sessions last until they expire: ${samlApps.join(', ')}`);
    }
    return lines;
  }
}
