import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/policy/policy-engine.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import { lookAlikes } from '../../src/policy/conditions.ts';
import { patternMatches, wildcardMatch } from '../../src/policy/patterns.ts';
import type { Policy, Rule } from '../../src/policy/policy-types.ts';
import type { User } from '../../src/core/types.ts';

/**
 * Attribute and username patterns compare spaces as names do: U+0020 spaces before and after a value,
 * and doubled inside it, never count; where a rule refuses, any white space is a space (a user who may
 * edit an attribute must not slip past a deny rule with a tab or a no-break space); where it lets in,
 * a tab or a no-break space is another character.
 */
const networks = compileNetworks({});
const now = Date.now();
function decisionFor(rules: Rule[], user: Partial<User>) {
  const policy: Policy = { name: 'p', description: '', source: 'custom', rules };
  const full: User = { id: 'u', username: 'alice', groups: [], attributes: {}, ...user };
  return decide({ policy, user: full, enrolledMethods: [], factors: [{ method: 'pwd', at: now }], network: { ip: '203.0.113.1' }, protocol: 'oidc', now }, networks).effect;
}
const denying = (when: Rule['when']): Rule[] => [{ name: 'out', when, then: { effect: 'deny' } }, { name: 'everyone else', then: { effect: 'permit' } }];
const permitting = (when: Rule['when']): Rule[] => [{ name: 'in', when, then: { effect: 'permit' } }, { name: 'nobody else', then: { effect: 'deny' } }];
const employeeType = (value: string) => ({ attributes: { employeetype: [value] } });

test('a deny rule on an attribute refuses the exact value', () => {
  assert.equal(decisionFor(denying({ attributes: { employeeType: ['contractor'] } }), employeeType('CONTRACTOR')), 'deny');
});

for (const [label, value] of [
  ['a trailing U+0020', 'contractor '],
  ['a leading U+0020', ' contractor'],
  ['a tab after it', 'contractor\t'],
  ['a no-break space after it', 'contractor\u00A0'],
  ['an ideographic space before it', '\u3000contractor'],
  ['fullwidth letters', '\uFF43\uFF4F\uFF4E\uFF54\uFF52\uFF41\uFF43\uFF54\uFF4F\uFF52'],
] as const) {
  test(`a deny rule on an attribute refuses the value with ${label}`, () => {
    assert.equal(decisionFor(denying({ attributes: { employeeType: ['contractor'] } }), employeeType(value)), 'deny');
  });
}

test('a deny rule on usernames refuses a doubled space or a tab inside the name', () => {
  const rules = denying({ username: ['sales emea*'] });
  for (const username of ['sales emea-1', 'sales  emea-1', 'sales\temea-1', ' Sales EMEA-1']) assert.equal(decisionFor(rules, { username }), 'deny', JSON.stringify(username));
});

test('a permit rule lets in a value that differs by U+0020 spaces only, not by other white space', () => {
  const rules = permitting({ attributes: { employeeType: ['full time'] } });
  for (const value of ['full time', 'Full Time ', '  full   time']) assert.equal(decisionFor(rules, employeeType(value)), 'allow', JSON.stringify(value));
  for (const value of ['full\ttime', 'full\u00A0time', 'full time\t']) assert.equal(decisionFor(rules, employeeType(value)), 'deny', JSON.stringify(value));
});

test('a space next to a `*` stands for spaces in the value, never for letters', () => {
  for (const comparison of ['narrow', 'broad'] as const) {
    assert.ok(patternMatches('sales *', 'sales  emea', comparison));
    assert.ok(patternMatches('* emea', ' Sales   EMEA ', comparison));
    assert.ok(patternMatches('*sales emea*', 'x sales  emea y', comparison));
    assert.ok(!patternMatches('sales *', 'salesforce', comparison));
    assert.ok(!patternMatches('* emea', 'salesemea', comparison));
  }
});

test('narrowly a space next to a `*` needs a space inside the value; broadly the value may end there', () => {
  assert.ok(!patternMatches('sales *', 'sales', 'narrow') && patternMatches('sales *', 'sales ', 'broad'));
  assert.ok(!patternMatches('* emea', 'emea', 'narrow') && patternMatches('* emea', 'emea', 'broad'));
  assert.ok(!patternMatches('a * b', 'a b', 'narrow') && patternMatches('a * b', 'a b', 'broad'));
  assert.ok(patternMatches('a * b', 'a x b', 'narrow'));
  assert.equal(decisionFor(permitting({ username: ['sales *'] }), { username: 'sales' }), 'deny');
  assert.equal(decisionFor(denying({ username: ['sales *'] }), { username: 'sales' }), 'deny');
});

test('policy explain names a value held only broadly for its white space', () => {
  const when = { attributes: { employeeType: ['contractor'] } };
  assert.deepEqual(lookAlikes(when, { id: 'u', username: 'u', groups: [], attributes: { employeetype: ['contractor\t', 'contractor '] } }), [{ condition: 'employeeType', wanted: 'contractor', found: 'contractor\t' }]);
});

test('mfa list --search still finds by every character (wildcardMatch is not a policy comparison)', () => {
  assert.ok(wildcardMatch('sales *', 'Sales x'));
  assert.ok(!wildcardMatch('sales emea', 'sales  emea'));
});
