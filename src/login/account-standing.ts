import type { Request } from 'express';
import { isDeepStrictEqual } from 'node:util';
import type { LoginRequest, User } from '../core/types.ts';
import { logoutIn } from '../session/session-service.ts';
import type { SsoSession } from '../session/sso-session.ts';
import { DirectoryMisconfiguredError } from '../directory/directory.ts';
import { AppError } from '../core/errors.ts';
import { decide } from '../policy/policy-engine.ts';
import type { InteractionDeps } from './interaction.ts';

type AccountStandingDeps = Pick<InteractionDeps, 'sessions' | 'users' | 'audit' | 'policies' | 'networks' | 'mfa' | 'clock'>;

/**
 * Whether an SSO session's account still stands, since a session may be used for hours after its
 * password: the directory's answer now (for a reuse of the session, and for a client's back end),
 * and the relying party's policy now (for a refresh grant, which has no page to ask anything on).
 */
export class AccountStanding {
  readonly #deps: AccountStandingDeps;

  constructor(deps: AccountStandingDeps) {
    this.#deps = deps;
  }

  /**
   * The session with its user as the directory has them now: groups and attributes are the current
   * ones for the policy and for what the relying party is told. A user the directory no longer
   * knows, or whose account is disabled, ends the session (its applications are told as for a
   * sign-out) and counts as no session: the flow asks for the password, which the directory then
   * refuses. A directory that cannot answer refuses the reuse (fails closed) and the session stays
   * for when it is back.
   */
  async current(req: Request, session: SsoSession): Promise<SsoSession | undefined> {
    let user: User | null;
    try {
      user = await this.#deps.users.find(session.user.id);
    } catch (error) {
      // An entry that does not fit the configuration (no users.idAttribute) is the administrator's to fix, not an outage.
      const code = error instanceof DirectoryMisconfiguredError ? 'DIRECTORY_MISCONFIGURED' : 'DIRECTORY_UNAVAILABLE';
      // One line, the error handler's, with the cause and without a stack: a known condition, not a fault.
      throw new AppError(code, { detail: { reason: 'sso-reuse-lookup', userId: session.user.id, directory: error instanceof Error ? error.message : String(error) } });
    }
    if (!user) {
      await this.endSessionOfUnavailableAccount(req, session);
      return undefined;
    }
    return isDeepStrictEqual(user, session.user) ? session : this.#deps.sessions.replaceUser(session, user);
  }

  /**
   * The directory answered that the session's account is gone (deleted, disabled, expired; not that
   * it could not be asked): the session ends, its applications are told as for a sign-out, and the
   * end is audited once. Whoever learns it (a reuse of the session, a refresh, an OIDC token,
   * userinfo or introspection request) ends the session here, so it does not wait for the browser.
   */
  async endSessionOfUnavailableAccount(req: Request, session: SsoSession): Promise<void> {
    if (!(await this.#deps.sessions.revoke(session, logoutIn(req, 'account-unavailable')))) return;
    req.log.warn({ event: 'session.account-unavailable', userId: session.user.id }, 'session: ended, the directory no longer has this account or it is disabled');
    await this.#deps.audit.record({ type: 'session.ended', outcome: 'info', reason: 'account-unavailable', userId: session.user.id, username: session.user.username, ip: req.clientIp, requestId: req.requestId });
  }

  /**
   * Whether the relying party's policy still lets the session's user in, for a refresh grant (no
   * browser, no page): the user as the directory has them now, the network the session signed in
   * from, what the application asked for at that sign-in (`request.requestedAuthnContext`), and the
   * session's factors whatever their age (freshness is a sign-in's matter; a refresh
   * proves nothing new). false when the policy now denies the user, or needs a factor the session
   * never had: a group removed or a policy tightened reaches tokens already issued. An account the
   * directory no longer has ends the session too.
   */
  async permitsRefresh(req: Request, request: LoginRequest, session: SsoSession): Promise<boolean> {
    const { policies, networks, mfa, clock, users } = this.#deps;
    const user = await users.find(session.user.id);
    if (!user) {
      await this.endSessionOfUnavailableAccount(req, session);
      return false;
    }
    const now = clock.now();
    const decision = decide(
      {
        policy: await policies.resolve(request.rp.policy),
        user,
        enrolledMethods: await mfa.enrolledMethods(user),
        factors: session.factors.map((factor) => ({ ...factor, at: now })),
        network: { ip: session.signInIp ?? req.clientIp },
        protocol: request.protocol,
        requested: request.requestedAuthnContext,
        now,
      },
      networks,
    );
    return decision.effect === 'allow';
  }
}
