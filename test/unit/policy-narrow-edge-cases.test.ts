import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/policy/policy-engine.ts';
import { explainDecision } from '../../src/policy/explain.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import { inGroup } from '../../src/policy/group-references.ts';
import { patternMatches } from '../../src/policy/patterns.ts';
import type { Policy, Rule } from '../../src/policy/policy-types.ts';
import type { User } from '../../src/core/types.ts';

const NOW = Date.parse('2026-11-22T10:00:00Z');
const networks = compileNetworks({});

function policy(...rules: Rule[]): Policy {
  return { name: 'edges', description: '', source: 'custom', rules };
}

test('a group DN with capitals beyond ASCII matches that very DN narrowly: a permit rule naming it lets its members in', () => {
  const dn = 'cn=\u00C9QUIPE,ou=Groups,dc=example,dc=org';
  const user: User = { id: 'u', username: 'pat', groups: ['\u00C9QUIPE'], groupDns: [dn], attributes: {} };
  assert.ok(inGroup(user, dn, 'narrow'));
  assert.ok(inGroup({ ...user, groupDns: undefined, attributes: { memberof: [dn] } }, dn, 'narrow'), 'as a memberOf value');
  const p = policy({ when: { groups: [dn] }, then: { effect: 'permit' } });
  const decided = decide({ policy: p, user, enrolledMethods: [], factors: [{ method: 'pwd', at: NOW }], network: { ip: '198.51.100.1' }, protocol: 'oidc', now: NOW }, networks);
  assert.equal(decided.effect, 'allow');
});

test("spaces at a pattern's ends count for nothing, also next to a `*`", () => {
  for (const comparison of ['narrow', 'broad'] as const) {
    assert.ok(patternMatches(' *@example.org', 'pat@example.org', comparison), comparison);
    assert.ok(patternMatches('ext-* ', 'ext-pat', comparison), comparison);
    assert.ok(!patternMatches(' *@example.org', 'pat@example.net', comparison), comparison);
  }
});

test('policy explain names the look-alike inside a `not`', () => {
  const p = policy({ name: 'not contractors', when: { not: { groups: ['contractors'] } }, then: { effect: 'permit' } }, { name: 'everyone else', then: { effect: 'deny' } });
  const user: User = { id: 'u', username: 'pat', groups: ['\uFF23ONTRACTORS'], attributes: {} };
  const decided = decide({ policy: p, user, enrolledMethods: [], factors: [{ method: 'pwd', at: NOW }], network: { ip: '198.51.100.1' }, protocol: 'oidc', now: NOW }, networks);
  assert.equal(decided.effect, 'deny');
  const lines = explainDecision(p, decided, { user, enrolledMethods: [], ip: '198.51.100.1' }, networks);
  assert.match(lines[1]!, /^ {2}alike #1 not contractors: /);
  assert.match(lines[2]!, /^ {8}not counted: group "\uFF23ONTRACTORS" is not "contractors": /);
});
