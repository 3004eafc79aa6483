import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, evaluatePolicy } from '../../src/policy/policy-engine.ts';
import { explainDecision } from '../../src/policy/explain.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import type { Decision, Policy, Rule } from '../../src/policy/policy-types.ts';
import type { Factor, User } from '../../src/core/types.ts';

/**
 * An MFA rule held only for a look-alike (`admın` for `admin`) counts where it asks more than the
 * rule that decides: where each asks for a freshness of its own, the fresher one must be kept, or the
 * look-alike is let in on a second factor older than the rule meant for it allows.
 */
const NOW = Date.parse('2026-11-22T10:00:00Z');
const networks = compileNetworks({});
/** A TOTP code typed 450 s ago: fresh enough for a 600 s or 900 s rule, too old for a 300 s one. */
const TOTP_450S_AGO: Factor[] = [{ method: 'pwd', at: NOW }, { method: 'otp', at: NOW - 450_000 }];
const LOOK_ALIKE: User = { id: 'u-look-alike', username: 'pat', groups: ['adm\u0131n'], attributes: {} };

function policy(...rules: Rule[]): Policy {
  return { name: 'freshness', description: '', source: 'custom', rules };
}

function decision(p: Policy): Decision {
  return decide({ policy: p, user: LOOK_ALIKE, enrolledMethods: ['totp', 'webauthn'], factors: TOTP_450S_AGO, network: { ip: '198.51.100.1' }, protocol: 'oidc', now: NOW }, networks);
}

test('a look-alike MFA rule asking for a fresher factor than the rule that decides: its age counts', () => {
  const p = policy({ name: 'admins', when: { groups: ['admin'] }, then: { effect: 'require-mfa', maxAgeSec: 300 } }, { name: 'everyone', then: { effect: 'require-mfa', maxAgeSec: 600 } });
  const decided = decision(p);
  assert.equal(decided.effect, 'step-up', 'a code 450 s old is too old for the admins rule');
  assert.ok(decided.effect === 'step-up' && decided.maxAgeSec === 300, JSON.stringify(decided));
  assert.equal(decided.rule.name, 'admins');
});

test('two MFA rules that both count, each with its own age and methods: the fresher age and the common method', () => {
  const fresherBelow = policy(
    { name: 'admins: totp within 15 minutes', when: { groups: ['admin'] }, then: { effect: 'require-mfa', methods: ['totp'], maxAgeSec: 900 } },
    { name: 'everyone: any factor within 5 minutes', then: { effect: 'require-mfa', maxAgeSec: 300 } },
  );
  const fresherAbove = policy(
    { name: 'admins: any factor within 5 minutes', when: { groups: ['admin'] }, then: { effect: 'require-mfa', maxAgeSec: 300 } },
    { name: 'everyone: totp within 15 minutes', then: { effect: 'require-mfa', methods: ['totp'], maxAgeSec: 900 } },
  );
  for (const p of [fresherBelow, fresherAbove]) {
    const decided = decision(p);
    assert.ok(decided.effect === 'step-up' && decided.maxAgeSec === 300 && decided.anyOf.join() === 'totp', `${p.rules[0]!.name}: ${JSON.stringify(decided)}`);
    assert.equal(decided.rule.name, p.rules[0]!.name, 'the decision names the first of the rules that count');
  }
});

test('a look-alike MFA rule that asks all the rule below it asks decides alone: the trace names one rule, with its own methods', () => {
  const p = policy({ name: 'admins', when: { groups: ['admin'] }, then: { effect: 'require-mfa', maxAgeSec: 300 } }, { name: 'everyone', then: { effect: 'require-mfa', maxAgeSec: 600 } });
  const subject = { user: LOOK_ALIKE, enrolledMethods: ['totp', 'webauthn'] as const, ip: '198.51.100.1' };
  const { decidedBy, action } = evaluatePolicy(p, subject, networks);
  assert.deepEqual(decidedBy, [0]);
  assert.deepEqual(action, { effect: 'require-mfa', maxAgeSec: 300 }, 'any method, as the rule says, not a list of them');
  const lines = explainDecision(p, decision(p), subject, networks);
  assert.ok(!lines.some((line) => line.includes('all count')), lines.join('\n'));
});
