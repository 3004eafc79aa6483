import type { LoginResult } from '../core/types.ts';
import type { SsoSession } from '../session/sso-session.ts';
import type { LoginTransaction } from './transaction.ts';
import type { Decision, Policy } from '../policy/policy-types.ts';
import type { TrustedNetworks } from '../policy/networks.ts';
import type { MfaMethodId } from '../policy/levels.ts';
import { amrFor } from '../policy/levels.ts';
import { decide } from '../policy/policy-engine.ts';
import { maySetUpSecondFactor } from '../mfa/enrollment-networks.ts';
import { setupElsewhereMessage } from './account-messages.ts';
import { RECENT_PASSWORD_SECONDS } from '../mfa/recent-password.ts';

export type FlowStep =
  /**
   * `again`: asked of the user signed in, whose password is too old for what comes next (a first
   * second factor's setup): the page says so, names them and offers "Not you?", since a plain sign-in
   * page looks to a user left signed in like a session lost.
   */
  | { kind: 'password'; again?: 'mfa-setup' }
  | { kind: 'change-password' }
  | { kind: 'expiry-warning'; days: number }
  /** Backup codes this sign-in's enrollment just issued, shown again until the user continues. */
  | { kind: 'backup-codes'; codes: string[] }
  /** The second factor was a backup code: it is used up, `left` remain. Shown until the user continues. */
  | { kind: 'backup-code-used'; left: number }
  /** Ask for a second factor; `methods`: enrolled methods the policy accepts. */
  | { kind: 'mfa-challenge'; methods: MfaMethodId[] }
  /** The policy needs a second factor the user has not set up yet but can set up now. */
  | { kind: 'mfa-enroll'; methods: MfaMethodId[] }
  /**
   * The policy refuses: shown to the user, who may go back to the application with `result`.
   * `outsideEnrollmentNetworks`: the policy needs a second factor the user may set up, but not from this network.
   * `ruleNumber`: the rule's place in the policy (1-based, as `policy explain` shows it), since two rules
   * of a policy saved before names had to differ may share `rule`; none when no rule matched.
   */
  | { kind: 'denied'; message: string; result: LoginResult; policy: string; rule: string; ruleNumber?: number; outsideEnrollmentNetworks?: true }
  | { kind: 'complete'; result: LoginResult };

/** What the interaction looked up for one decision; the flow itself does no I/O. */
export interface FlowFacts {
  now: number;
  /** The relying party's policy, already resolved (LoginRequest.rp.policy, or the default). */
  policy: Policy;
  networks: TrustedNetworks;
  /** Client IP of the current request. */
  ip: string;
  /** Methods the session's user has set up. */
  enrolledMethods: MfaMethodId[];
  /** Methods a user can set up by themselves. */
  enrollableMethods: MfaMethodId[];
  /** Where a first second factor may be set up (`mfa.enrollment.networks`); undefined: anywhere. */
  enrollmentNetworks?: readonly string[];
}

const NO_USABLE_METHOD = 'This application needs a kind of second factor that you have not set up and cannot set up here. Contact your helpdesk.';

function failure(error: Extract<LoginResult, { ok: false }>['error'], message: string): FlowStep {
  return { kind: 'complete', result: { ok: false, error, message } };
}

/** The policy and rule a refusal names. */
function deciding(decision: Decision): { policy: string; rule: string; ruleNumber?: number } {
  return { policy: decision.policy, rule: decision.rule.name, ...(decision.rule.index >= 0 ? { ruleNumber: decision.rule.index + 1 } : {}) };
}

/**
 * Until when (epoch ms) this sign-in may set up a first second factor on `session`'s password. Setting
 * one up is an account change, held to the rule of "My security": a password carried in from an earlier
 * sign-in counts only while it is RECENT_PASSWORD_SECONDS old, so whoever sits at a browser left signed
 * in cannot register their own app as the user's. A password typed in this sign-in counts for its whole
 * life, as max_age does (the setup page states that time: a key typed by hand can take a while).
 */
export function setupAllowedUntil(tx: LoginTransaction, session: SsoSession): number {
  return tx.passwordSessionId === session.id ? Infinity : session.authTime + RECENT_PASSWORD_SECONDS * 1000;
}

/**
 * Decides the next sign-in step from the transaction, the SSO session and the facts. Pure: no I/O.
 * Order: password (and its account-state detours), then the policy decision, then second factor.
 */
export function nextStep(tx: LoginTransaction, session: SsoSession | undefined, facts: FlowFacts): FlowStep {
  if (tx.pendingPasswordChange) return { kind: 'change-password' };
  if (tx.pendingExpiryWarning) return { kind: 'expiry-warning', days: tx.pendingExpiryWarning.days };
  // Only in the SSO session that set the app up: not to the next person who signs in on this
  // browser, nor to the same user's name typed again after a sign-out (a password alone).
  const codes = tx.pendingBackupCodes;
  if (codes && codes.sessionId === session?.id && codes.userId === session.user.id) return { kind: 'backup-codes', codes: codes.codes };
  const used = tx.pendingBackupCodeNotice;
  if (used && used.sessionId === session?.id && used.userId === session.user.id) return { kind: 'backup-code-used', left: used.left };

  const { request } = tx;
  const freshPassword = session !== undefined && tx.passwordSessionId === session.id;
  const tooOld = request.maxAgeSec !== undefined && session !== undefined && facts.now - session.authTime > request.maxAgeSec * 1000;
  // A refusal was shown to someone else than who is signed in now (in another tab since): whichever
  // page of this sign-in is loaded next, whoever is at the browser is asked, never answered for.
  const refusedAnotherUser = session !== undefined && tx.refusalShownTo !== undefined && tx.refusalShownTo !== session.user.id;
  if (!session || (!freshPassword && (request.forceAuthn || tooOld || refusedAnotherUser))) {
    if (request.passive) return failure('login_required', 'The user is not signed in and the application asked not to show a sign-in page.');
    return { kind: 'password' };
  }
  // A request for a new sign-in (ForceAuthn, prompt=login, max_age) is answered from what was proved
  // for it: not a factor the re-authentication only kept from the session before, nor one older than max_age.
  // The password typed in this sign-in counts for its whole life, as `tooOld` has it. Dropped here once
  // max_age passed while a code, a setup or a warning page was in front of the user, it left an answer
  // without the password: the code page again after every right code, or amr without `pwd`.
  const factors = session.factors.filter(
    (factor) =>
      !(request.forceAuthn && session.keptFactors?.includes(factor.method)) &&
      (request.maxAgeSec === undefined || facts.now - factor.at <= request.maxAgeSec * 1000 || (freshPassword && factor.method === 'pwd')),
  );

  const decision = decide(
    {
      policy: facts.policy,
      user: session.user,
      enrolledMethods: facts.enrolledMethods,
      factors,
      network: { ip: facts.ip },
      protocol: request.protocol,
      requested: request.requestedAuthnContext,
      now: facts.now,
      appName: request.rpName,
    },
    facts.networks,
  );
  switch (decision.effect) {
    case 'deny': {
      const result: LoginResult = { ok: false, error: 'access_denied', message: decision.message };
      return request.passive ? { kind: 'complete', result } : { kind: 'denied', message: decision.message, result, ...deciding(decision) };
    }
    case 'unmet':
      return failure('unmet_authn_context', decision.message);
    case 'allow':
      return {
        kind: 'complete',
        // A factor kept by a re-authentication was proved before it: the time of authentication an
        // answer states (SAML AuthnInstant, auth_time) is never later than the oldest proof it rests on.
        result: { ok: true, user: session.user, sessionId: session.id, authTime: Math.min(session.authTime, ...factors.filter((factor) => session.keptFactors?.includes(factor.method)).map((factor) => factor.at)), factors, amr: amrFor(factors), acr: decision.acr },
      };
    case 'step-up': {
      if (request.passive) return failure('interaction_required', 'The application needs a second factor and asked not to show a sign-in page.');
      const usable = decision.anyOf.filter((method) => facts.enrolledMethods.includes(method));
      if (usable.length > 0) return { kind: 'mfa-challenge', methods: usable };
      const enrollable = decision.anyOf.filter((method) => facts.enrollableMethods.includes(method));
      if (enrollable.length > 0 && maySetUpSecondFactor(facts)) {
        if (facts.now > setupAllowedUntil(tx, session)) return { kind: 'password', again: 'mfa-setup' };
        return { kind: 'mfa-enroll', methods: enrollable };
      }
      // Outside mfa.enrollment.networks the application's second step cannot be met: refused, never skipped.
      const outside = enrollable.length > 0;
      const message = outside ? setupElsewhereMessage(request.rpName) : NO_USABLE_METHOD;
      return { kind: 'denied', message, result: { ok: false, error: 'access_denied', message }, ...deciding(decision), ...(outside ? { outsideEnrollmentNetworks: true as const } : {}) };
    }
  }
}
