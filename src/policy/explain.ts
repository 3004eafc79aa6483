import type { RequestedAuthnContext } from '../core/types.ts';
import type { Action, Conditions, Decision, Policy } from './policy-types.ts';
import type { SubjectFacts } from './conditions.ts';
import { conditionsHold } from './conditions.ts';
import type { TrustedNetworks } from './networks.ts';
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

/**
 * The rule trace an administrator reads: each rule up to the one that decided, whether it matched,
 * and the decision. Re-evaluates the same pure conditions the engine used.
 */
export function explainDecision(policy: Policy, decision: Decision, subject: SubjectFacts, networks: TrustedNetworks): string[] {
  const lines = [policyLine(policy)];
  const last = decision.rule.index >= 0 ? decision.rule.index : policy.rules.length - 1;
  policy.rules.slice(0, last + 1).forEach((rule, index) => {
    const matched = conditionsHold(rule.when, subject, networks);
    lines.push(`  ${matched ? 'MATCH' : 'no   '} #${index + 1} ${terminalSafe(rule.name ?? '')}: when ${describeConditions(rule.when)} → ${describeAction(rule.then)}`);
  });
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
