import type { Factor, Protocol, RequestedAuthnContext, User } from '../core/types.ts';
import type { Action, Decision, Policy, Rule, RuleRef } from './policy-types.ts';
import { ACR_LEVELS, MFA_METHOD_IDS, levelOf, levelReached, ACR, type MfaMethodId } from './levels.ts';
import { conditionsHold, type SubjectFacts } from './conditions.ts';
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

/** How a rule's conditions held for the subject (see conditionsHold for the two comparisons). */
export type RuleHeld = 'narrowly' | 'only-broadly' | 'no';

/**
 * Which rules decide, and how each rule looked at held. `decidedBy` is empty when no rule decides
 * (deny), one rule when one does, and more when MFA rules held for a look-alike ask for other second
 * factors or freshness than the rule that decides: the decision then asks for what satisfies them all.
 */
export interface Evaluation {
  held: RuleHeld[];
  decidedBy: number[];
  action: Action;
}

/**
 * First match, failing closed where a rule holds only broadly (for a look-alike of a name or pattern,
 * see Comparison). The first rule that holds narrowly would decide; each rule before it that holds
 * only broadly might have been meant for this user too, so the strictest of them and that rule
 * decides: deny before require-mfa before permit. A look-alike can thus make a deny rule refuse, or
 * an MFA rule ask more of a user than the rules below it would (`contractors` holds for
 * `ＣＯＮＴＲＡＣＴＯＲＳ`), but never let a user in or ask less (`admins` with MFA, then deny everyone: a
 * member of `admıns` is refused). Rules after a look-alike deny are not looked at: nothing decides
 * more strictly. Pure.
 */
export function evaluatePolicy(policy: Policy, subject: SubjectFacts, networks: TrustedNetworks): Evaluation {
  const held: RuleHeld[] = [];
  const candidates: Chosen[] = [];
  let decider: Chosen = NO_RULE;
  for (const [index, rule] of policy.rules.entries()) {
    if (conditionsHold(rule.when, subject, networks, 'narrow')) {
      held.push('narrowly');
      decider = { decidedBy: [index], action: rule.then };
      break;
    }
    const broadly = conditionsHold(rule.when, subject, networks, 'broad');
    held.push(broadly ? 'only-broadly' : 'no');
    if (broadly && rule.then.effect !== 'permit') candidates.push({ decidedBy: [index], action: rule.then });
    if (broadly && rule.then.effect === 'deny') break;
  }
  return { held, ...[...candidates, decider].reduce(stricter) };
}

type Chosen = Omit<Evaluation, 'held'>;

const NO_RULE: Chosen = { decidedBy: [], action: { effect: 'deny' } };
const STRICTNESS: Readonly<Record<Action['effect'], number>> = { permit: 0, 'require-mfa': 1, deny: 2 };

/**
 * The stricter of two ways to decide, `first` coming first in the policy. Of two denials the first
 * (a rule's own message before no rule's); of two MFA rules asking the same, the second, nearer the
 * rule that holds narrowly: a look-alike decides only where it asks more.
 */
function stricter(first: Chosen, second: Chosen): Chosen {
  const [one, other] = [first.action, second.action];
  const difference = STRICTNESS[other.effect] - STRICTNESS[one.effect];
  if (difference !== 0) return difference > 0 ? second : first;
  if (one.effect !== 'require-mfa' || other.effect !== 'require-mfa') return first;
  if (asksAtLeast(other, one)) return second;
  if (asksAtLeast(one, other)) return first;
  const decidedBy = [...first.decidedBy, ...second.decidedBy];
  const methods = MFA_METHOD_IDS.filter((method) => allows(one, method) && allows(other, method));
  // No second factor counts for both: nothing the user could do would satisfy the decision.
  if (methods.length === 0) return { decidedBy, action: { effect: 'deny' } };
  const ages = [one.maxAgeSec, other.maxAgeSec].filter((age) => age !== undefined);
  return { decidedBy, action: { effect: 'require-mfa', methods, ...(ages.length > 0 ? { maxAgeSec: Math.min(...ages) } : {}) } };
}

type RequireMfa = Extract<Action, { effect: 'require-mfa' }>;

function allows(action: RequireMfa, method: MfaMethodId): boolean {
  return !action.methods?.length || action.methods.includes(method);
}

/** Whether every factor that satisfies `strict` satisfies `lax` too. */
function asksAtLeast(strict: RequireMfa, lax: RequireMfa): boolean {
  const fresh = lax.maxAgeSec === undefined || (strict.maxAgeSec !== undefined && strict.maxAgeSec <= lax.maxAgeSec);
  return fresh && MFA_METHOD_IDS.every((method) => !allows(strict, method) || allows(lax, method));
}

/**
 * The one access decision for a relying party: the rule evaluatePolicy finds, combined with what the
 * application requested and what the session already has. Pure and synchronous: no I/O, no clock.
 */
export function decide(facts: DecisionFacts, networks: TrustedNetworks): Decision {
  const { policy } = facts;
  const subject = { user: facts.user, enrolledMethods: facts.enrolledMethods, ip: facts.network.ip, requested: facts.requested };
  const { decidedBy, action } = evaluatePolicy(policy, subject, networks);
  const index = decidedBy[0] ?? -1;
  const rule: RuleRef = index >= 0 ? { index, name: ruleName(policy.rules[index]!, index) } : { index: -1, name: 'no rule matched' };
  const base = { policy: policy.name, rule };
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
