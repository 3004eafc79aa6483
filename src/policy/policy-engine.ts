import type { Factor, Protocol, RequestedAuthnContext, User } from '../core/types.ts';
import type { Decision, Policy, Rule, RuleRef } from './policy-types.ts';
import { ACR_LEVELS, MFA_METHOD_IDS, levelOf, levelReached, ACR, type MfaMethodId } from './levels.ts';
import { conditionsHold } from './conditions.ts';
import type { TrustedNetworks } from './networks.ts';
import { ALL_LEVELS, acceptableLevels, isBinding, type LevelRange } from './requested-context.ts';

export interface DecisionFacts {
  policy: Policy;
  user: User;
  /** Second-factor methods the user has set up (any method, usable or not by this policy). */
  enrolledMethods: readonly MfaMethodId[];
  /** What the SSO session already proved, with times. */
  factors: readonly Factor[];
  network: { ip: string };
  protocol: Protocol;
  requested?: RequestedAuthnContext;
  now: number;
  /** The application's name, for the words of a refusal without the administrator's own text. */
  appName?: string;
}

/** What a user refused by a rule without its own message (or by no rule) is told. */
function notAllowedMessage(appName: string | undefined): string {
  return `You are not allowed to use ${appName ?? 'this application'}. If you need it, ask your helpdesk for access.`;
}
const UNMET_MESSAGE = 'This application asked for a kind of sign-in that its access policy does not allow, or that this sign-in service cannot give. Go back to the application, and tell its administrator or your helpdesk.';

const PASSWORD = levelOf(ACR.password);
const MFA = levelOf(ACR.mfa);

/** The name a decision gives a rule: its own, or its place for a rule without one. */
export function ruleName(rule: Rule, index: number): string {
  return rule.name ?? `rule ${index + 1}`;
}

/**
 * The one access decision for a relying party: first matching rule of the policy, combined with what
 * the application requested and what the session already has. Pure and synchronous: no I/O, no clock.
 */
export function decide(facts: DecisionFacts, networks: TrustedNetworks): Decision {
  const { policy } = facts;
  const subject = { user: facts.user, enrolledMethods: facts.enrolledMethods, ip: facts.network.ip, requested: facts.requested };
  const index = policy.rules.findIndex((rule) => conditionsHold(rule.when, subject, networks));
  const rule: RuleRef = index >= 0 ? { index, name: ruleName(policy.rules[index]!, index) } : { index: -1, name: 'no rule matched' };
  const base = { policy: policy.name, rule };
  const action = policy.rules[index]?.then;
  if (!action) return { ...base, effect: 'deny', message: notAllowedMessage(facts.appName) };
  if (action.effect === 'deny') return { ...base, effect: 'deny', message: action.message ?? notAllowedMessage(facts.appName) };

  const policyLevel = action.effect === 'require-mfa' ? MFA : PASSWORD;
  const range = requestedRange(facts, policyLevel);
  if (!range) return { ...base, effect: 'unmet', message: UNMET_MESSAGE };
  const needed = Math.max(policyLevel, range.lo);

  const anyOf = action.effect === 'require-mfa' && action.methods?.length ? [...action.methods] : [...MFA_METHOD_IDS];
  const maxAgeSec = action.effect === 'require-mfa' ? action.maxAgeSec : undefined;
  const freshSince = maxAgeSec === undefined ? -Infinity : facts.now - maxAgeSec * 1000;
  // The engine is asked only once the user is known, i.e. after primary authentication: at least PASSWORD.
  if (Math.max(PASSWORD, levelReached(facts.factors, anyOf, freshSince)) >= needed) {
    // Report the strongest level the session holds that the application accepts.
    const held = Math.max(PASSWORD, levelReached(facts.factors, MFA_METHOD_IDS));
    return { ...base, effect: 'allow', acr: ACR_LEVELS[Math.min(held, range.hi)]! };
  }
  return { ...base, effect: 'step-up', anyOf, ...(maxAgeSec !== undefined ? { maxAgeSec } : {}), acr: ACR_LEVELS[needed]! };
}

/**
 * The levels both the application and the policy accept. A binding request that cannot be met gives
 * undefined (→ unmet_authn_context / NoAuthnContext); a non-binding one that cannot be met is ignored.
 */
function requestedRange(facts: DecisionFacts, policyLevel: number): LevelRange | undefined {
  const { requested } = facts;
  if (!requested || requested.values.length === 0) return ALL_LEVELS;
  const range = acceptableLevels(requested);
  if (range && Math.max(range.lo, policyLevel) <= range.hi) return range;
  return isBinding(requested, facts.protocol) ? undefined : ALL_LEVELS;
}
