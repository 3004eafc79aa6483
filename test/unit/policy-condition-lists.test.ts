import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type DecisionFacts } from '../../src/policy/policy-engine.ts';
import { compileNetworks, ipInNetworks } from '../../src/policy/networks.ts';
import type { Policy, Rule } from '../../src/policy/policy-types.ts';
import type { User } from '../../src/core/types.ts';

/**
 * How a condition reads its list: any one of its groups, usernames or a network's ranges will do, while
 * every attribute it names must match. Written from the README's policy section, not from the code.
 */
const NOW = Date.parse('2026-11-22T10:00:00Z');
const networks = compileNetworks({ office: ['192.0.2.0/24', '198.51.100.0/24'], lab: ['2001:db8:aa::/48'] });
const sam: User = { id: 's', username: 'sam', groups: ['staff'], attributes: { c: ['DE'], department: ['Sales'] } };

function policy(...rules: Rule[]): Policy {
  return { name: 'lists', description: '', source: 'custom', rules };
}

function effect(p: Policy, overrides: Partial<DecisionFacts> = {}): string {
  return decide({ policy: p, user: sam, enrolledMethods: [], factors: [{ method: 'pwd', at: NOW }], network: { ip: '203.0.113.9' }, protocol: 'oidc', now: NOW, ...overrides }, networks).effect;
}

test('a groups condition holds for a member of any one of its groups', () => {
  assert.equal(effect(policy({ when: { groups: ['admins', 'staff'] }, then: { effect: 'permit' } })), 'allow');
  assert.equal(effect(policy({ when: { groups: ['admins', 'auditors'] }, then: { effect: 'permit' } })), 'deny');
});

test('a username condition holds when any one of its patterns matches', () => {
  assert.equal(effect(policy({ when: { username: ['ext-*', 's*'] }, then: { effect: 'permit' } })), 'allow');
  assert.equal(effect(policy({ when: { username: ['ext-*', 'bob'] }, then: { effect: 'permit' } })), 'deny');
});

test('an attributes condition holds only when every attribute it names matches', () => {
  assert.equal(effect(policy({ when: { attributes: { c: ['de'], department: ['sales'] } }, then: { effect: 'permit' } })), 'allow');
  assert.equal(effect(policy({ when: { attributes: { c: ['de'], department: ['research'] } }, then: { effect: 'permit' } })), 'deny', 'the right country is not enough');
});

test('a client inside any one of a named network\'s ranges is inside the network', () => {
  assert.ok(ipInNetworks('192.0.2.7', ['office'], networks));
  assert.ok(ipInNetworks('198.51.100.7', ['office'], networks), 'the second range of the network counts too');
  assert.ok(!ipInNetworks('203.0.113.9', ['office'], networks));
  assert.equal(effect(policy({ when: { networks: ['office'] }, then: { effect: 'permit' } }), { network: { ip: '198.51.100.7' } }), 'allow');
});

test('a network name the configuration does not have holds no client', () => {
  // A stored policy may still name a network removed from the configuration (it loads with a warning).
  assert.ok(!ipInNetworks('192.0.2.7', ['old-office'], networks));
  assert.equal(effect(policy({ when: { networks: ['old-office'] }, then: { effect: 'permit' } }), { network: { ip: '192.0.2.7' } }), 'deny');
});
