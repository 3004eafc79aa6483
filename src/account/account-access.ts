import type { Request } from 'express';
import type { KeyValue } from '../store/store.ts';
import type { LoginRequest } from '../core/types.ts';
import type { SessionService } from '../session/session-service.ts';
import type { SsoSession } from '../session/sso-session.ts';
import type { MfaRegistry } from '../mfa/registry.ts';
import type { Clock } from '../core/clock.ts';
import { RECENT_PASSWORD_SECONDS } from '../mfa/recent-password.ts';

const NAMESPACE = 'account-grant';
export const ACCOUNT_RP_ID = 'stepgate:account';
export const ACCOUNT_FINISHER = 'account';
/**
 * Its name where the sign-in pages name the application: a name that can start a sentence and take
 * "asks", "needs" ("My security asks for a second step"), "to continue to", "Back to" and "Your sign-in to".
 */
const ACCOUNT_RP_NAME = 'My security';

/**
 * The "my security" page signs in through the same interaction as any application, under its own
 * policy (config policies.account, by default MFA for users who have it). Protocol 'oidc' only labels
 * the transaction; the account routes' own finisher takes its result.
 */
export function accountLoginRequest(policy: string, returnTo = ''): LoginRequest {
  // A password older than the grant is asked again (and the factors that go with a new sign-in): a
  // browser left signed in for hours must not let whoever sits at it set up or read second factors.
  return { protocol: 'oidc', rpId: ACCOUNT_RP_ID, rpName: ACCOUNT_RP_NAME, rp: { policy, allowPasswordChange: true }, handoff: { finisher: ACCOUNT_FINISHER, ref: returnTo }, forceAuthn: false, passive: false, maxAgeSec: RECENT_PASSWORD_SECONDS };
}

/**
 * What moving a second factor to a new authenticator needs, asked of the flow like the account policy
 * and whatever that policy asks: with the password alone, whoever has it could take the user's second
 * factor over. A built-in policy (its name cannot be given to another), under the grant's maxAgeSec:
 * only a second factor proved within that time counts, a code this sign-in's first setup confirmed too.
 */
export function secondFactorLoginRequest(returnTo: string): LoginRequest {
  return accountLoginRequest('permit-everyone-require-mfa', returnTo);
}

/** Until when the second factor this sign-in proved last counts for account changes (0: none proved). */
function secondFactorCountsUntil(session: SsoSession): number {
  return Math.max(0, ...session.factors.filter((factor) => factor.method !== 'pwd').map((factor) => factor.at + RECENT_PASSWORD_SECONDS * 1000));
}

/**
 * Until when this session may change second factors, for the setup page's time limit: the grant ends
 * RECENT_PASSWORD_SECONDS after the password, and a move to a new authenticator also needs a second factor
 * proved within that time (secondFactorLoginRequest).
 */
export function accountChangesEndAt(session: SsoSession, replacing: boolean): number {
  const grantEnd = session.authTime + RECENT_PASSWORD_SECONDS * 1000;
  return replacing ? Math.min(grantEnd, secondFactorCountsUntil(session)) : grantEnd;
}

/**
 * Which SSO sessions passed the account policy recently. A grant dies with its session, and also when
 * the user's enrolled methods change: a grant earned with a password only, before the user had a second
 * factor, must not reach backup codes of a factor set up afterwards (possibly by someone else).
 */
export class AccountAccess {
  readonly #kv: KeyValue;
  readonly #sessions: SessionService;
  readonly #mfa: MfaRegistry;
  readonly #clock: Clock;

  constructor(kv: KeyValue, sessions: SessionService, mfa: MfaRegistry, clock: Clock) {
    this.#clock = clock;
    this.#kv = kv;
    this.#sessions = sessions;
    this.#mfa = mfa;
  }

  /** Lasts until the sign-in is RECENT_PASSWORD_SECONDS old: opening the page late in that time gives no more. */
  async grant(session: SsoSession): Promise<void> {
    const enrolled = await this.#mfa.enrolledMethods(session.user);
    const secondsLeft = Math.ceil((session.authTime + RECENT_PASSWORD_SECONDS * 1000 - this.#clock.now()) / 1000);
    if (secondsLeft > 0) await this.#kv.set(NAMESPACE, session.id, { enrolled }, { ttlSeconds: secondsLeft, durable: false });
  }

  /** The current session when it holds a live grant for the user's current methods. */
  async session(req: Request): Promise<SsoSession | undefined> {
    const session = await this.#sessions.current(req);
    if (!session) return undefined;
    if (this.#clock.now() - session.authTime > RECENT_PASSWORD_SECONDS * 1000) return undefined;
    const grant = await this.#kv.get<{ enrolled: string[] }>(NAMESPACE, session.id);
    const enrolled = await this.#mfa.enrolledMethods(session.user);
    return grant && grant.enrolled.join() === enrolled.join() ? session : undefined;
  }
}
