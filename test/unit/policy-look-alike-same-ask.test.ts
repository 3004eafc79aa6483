import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/policy/policy-engine.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import type { Decision, Policy, Rule } from '../../src/policy/policy-types.ts';
import type { User } from '../../src/core/types.ts';

/**
 * A look-alike MFA rule (`admın` for `admin`) counts only where it asks more than the rule that holds
 * narrowly. Where it asks exactly the same, with no freshness window or with the same methods, the
 * narrowly held rule decides alone, and the decision names it (the audit and `policy explain` show it).
 */
const NOW = Date.parse('2026-11-22T10:00:00Z');
const networks = compileNetworks({});
const LOOK_ALIKE: User = { id: 'u-look-alike', username: 'pat', groups: ['adm\u0131n'], attributes: {} };

function policy(...rules: Rule[]): Policy {
  return { name: 'same-ask', description: '', source: 'custom', rules };
}

function decision(p: Policy): Decision {
  return decide({ policy: p, user: LOOK_ALIKE, enrolledMethods: ['totp'], factors: [{ method: 'pwd', at: NOW }], network: { ip: '198.51.100.1' }, protocol: 'oidc', now: NOW }, networks);
}

test('a look-alike MFA rule without a freshness window, asking what the rule below asks: the rule below decides alone', () => {
  const decided = decision(policy({ name: 'admins', when: { groups: ['admin'] }, then: { effect: 'require-mfa' } }, { name: 'everyone', then: { effect: 'require-mfa' } }));
  assert.equal(decided.effect, 'step-up');
  assert.equal(decided.rule.name, 'everyone');
  assert.ok(decided.effect === 'step-up' && decided.maxAgeSec === undefined, JSON.stringify(decided));
});

test('a look-alike MFA rule naming the same methods as the rule below: the rule below decides alone', () => {
  const decided = decision(policy({ name: 'admins', when: { groups: ['admin'] }, then: { effect: 'require-mfa', methods: ['totp'] } }, { name: 'everyone', then: { effect: 'require-mfa', methods: ['totp'] } }));
  assert.equal(decided.effect, 'step-up');
  assert.equal(decided.rule.name, 'everyone');
  assert.ok(decided.effect === 'step-up' && decided.anyOf.join() === 'totp', JSON.stringify(decided));
});
