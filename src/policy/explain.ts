import type { RequestedAuthnContext } from '../core/types.ts';
import type { Action, Conditions, Decision, Policy, Rule } from './policy-types.ts';
import { lookAlikes, type LookAlike, type SubjectFacts } from './conditions.ts';
import type { TrustedNetworks } from './networks.ts';
import { evaluatePolicy, type RuleHeld } from './policy-engine.ts';
import { terminalSafe } from '../core/terminal-text.ts';

function describeConditions(when: Conditions | undefined): string {
  if (!when || Object.keys(when).length === 0) return 'everyone';
  return Object.entries(when)
    .map(([key, value]) => (key === 'not' ? `not (${describeConditions(value as Conditions)})` : `${key} ${terminalSafe(JSON.stringify(value))}`))
    .join(' and ');
}

function describeAction(action: Action): string {
  switch (action.effect) {
    case 'permit':
      return 'permit';
    case 'deny':
      return action.message ? `deny ("${terminalSafe(action.message)}")` : 'deny';
    case 'require-mfa':
      return `require MFA (${action.methods?.join(' or ') ?? 'any method'}${action.maxAgeSec !== undefined ? `, at most ${action.maxAgeSec} s old` : ''})`;
  }
}

function describeDecision(decision: Decision): string {
  switch (decision.effect) {
    case 'allow':
      return `allow — acr ${decision.acr}`;
    case 'step-up':
      return `step up — a second factor (${decision.anyOf.join(' or ')}${decision.maxAgeSec !== undefined ? `, at most ${decision.maxAgeSec} s old` : ''}) — then acr ${decision.acr}`;
    case 'deny':
      return `deny — the user sees: "${terminalSafe(decision.message)}"`;
    case 'unmet':
      return `unmet authentication context — ${decision.message}`;
  }
}

const HELD_LABEL: Readonly<Record<RuleHeld, string>> = { narrowly: 'MATCH', 'only-broadly': 'alike', no: 'no   ' };

function describeLookAlike({ condition, wanted, found }: LookAlike, verb: string): string {
  return `${terminalSafe(condition)} ${terminalSafe(JSON.stringify(found))} ${verb} ${terminalSafe(JSON.stringify(wanted))}`;
}

/** Why a rule that held only for a look-alike counted or not: nothing in the rule as written says so. */
function lookAlikeNote(rule: Rule, subject: SubjectFacts, counted: boolean): string {
  const pairs = (verb: string) => lookAlikes(rule.when, subject.user).map((pair) => describeLookAlike(pair, verb)).join(', ');
  return counted
    ? `        counted: ${pairs('counts as')}: where a rule refuses, or asks more than the rules below it, look-alikes count (case, width, ß as ss, ı and İ as i)`
    : `        not counted: ${pairs('is not')}: where a rule lets a user in, or asks less than the rules below it, names compare exactly but for ASCII case and the spaces a directory does not count (a space next to * stands for spaces only)`;
}

/**
 * The rule trace an administrator reads: each rule the engine looked at, how it held, and the
 * decision. From the same evaluation as the engine's (evaluatePolicy), so it cannot tell another story.
 */
export function explainDecision(policy: Policy, decision: Decision, subject: SubjectFacts, networks: TrustedNetworks): string[] {
  const lines = [policyLine(policy)];
  const { held, decidedBy } = evaluatePolicy(policy, subject, networks);
  held.forEach((how, index) => {
    const rule = policy.rules[index]!;
    lines.push(`  ${HELD_LABEL[how]} #${index + 1} ${terminalSafe(rule.name ?? '')}: when ${describeConditions(rule.when)} → ${describeAction(rule.then)}`);
    if (how === 'only-broadly') lines.push(lookAlikeNote(rule, subject, decidedBy.includes(index)));
  });
  if (decidedBy.length > 1) lines.push(`  (rules ${decidedBy.map((index) => `#${index + 1}`).join(' and ')} all count: ${decision.effect === 'deny' ? 'no second factor satisfies them all, so deny' : 'the second factor must satisfy them all'})`);
  if (decision.rule.index < 0) lines.push('  (no rule matched: deny)');
  lines.push(`decision  ${describeDecision(decision)}`);
  lines.push(`rule      ${decision.rule.index >= 0 ? `#${decision.rule.index + 1} "${terminalSafe(decision.rule.name)}"` : decision.rule.name}`);
  return lines;
}

/**
 * A SAML request for a level no sign-in here can give is answered NoAuthnContext before any page
 * (sso-start.ts, by isSatisfiable): the policy is never asked, whatever its rules say.
 */
export function explainUnsatisfiableRequest(policy: Policy, requested: RequestedAuthnContext): string[] {
  return [
    policyLine(policy),
    '  (not evaluated: the request is answered before anyone signs in)',
    `decision  unmet authentication context — no level Stepgate gives satisfies ${requested.comparison} ${terminalSafe(requested.values.join(', '))}, so SAML answers NoAuthnContext before any sign-in page`,
  ];
}

function policyLine(policy: Policy): string {
  return `policy    ${policy.name} (${policy.source}): ${terminalSafe(policy.description)}`;
}
