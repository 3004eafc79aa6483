import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/policy/policy-engine.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import { patternMatches, patternsMatchAny } from '../../src/policy/patterns.ts';
import type { Policy, Rule } from '../../src/policy/policy-types.ts';
import type { User } from '../../src/core/types.ts';

/**
 * A combining mark after a letter that foldCase turns into another (ß → ss, ı → i): slapd keeps the mark
 * after the letter it was written with, foldCase composes it into the folded one (`sś`, `í`). What slapd
 * matches, a deny rule must hold for (checked against slapd 2.5 with substring filters).
 */
const networks = compileNetworks({});
const now = Date.now();

test('broadly, a pattern matches a value whose combining mark foldCase would compose into a folded letter', () => {
  assert.ok(patternMatches('\u00A0\u00A0\u00DF*', '\u00DF\u0301', 'broad'));
  assert.ok(patternMatches('*\u0301A\uFF41', '\u0131\u0301\uFF41\uFF41', 'broad'));
  assert.ok(patternMatches('*\u0301 \u00A0', ' \u0130\u0131\u0301', 'broad'));
  assert.ok(patternsMatchAny(['\u00A0\u00A0\u00DF*'], ['x', '\u00DF\u0301'], 'broad'), 'in a list of values');
});

test('a deny rule holds for a value with a combining mark after ß', () => {
  const policy: Policy = { name: 'p', description: '', source: 'custom', rules: [{ name: 'out', when: { attributes: { employeeType: ['\u00A0\u00A0\u00DF*'] } }, then: { effect: 'deny' } }, { name: 'everyone else', then: { effect: 'permit' } }] satisfies Rule[] };
  const user: User = { id: 'u', username: 'alice', groups: [], attributes: { employeetype: ['\u00DF\u0301'] } };
  assert.equal(decide({ policy, user, enrolledMethods: [], factors: [{ method: 'pwd', at: now }], network: { ip: '203.0.113.1' }, protocol: 'oidc', now }, networks).effect, 'deny');
});

test('a precomposed accented letter is still not its plain letter, either way', () => {
  for (const comparison of ['narrow', 'broad'] as const) assert.ok(!patternMatches('e*', '\u00E9mile', comparison), comparison);
  assert.ok(patternMatches('\u00C9*', 'e\u0301mile', 'broad'));
});

test('broadly, ß with a combining mark still matches where the value has other white space for the pattern\'s space: a tab does not get it past a deny rule', () => {
  assert.ok(patternMatches('\u00DF* x', '\u00DF\u0301\u00A0x', 'broad'), 'a no-break space, as slapd matches it');
  assert.ok(patternMatches('\u00DF* x', '\u00DF\u0301\tx', 'broad'), 'a tab, as any white space counts broadly');
  const policy: Policy = { name: 'p', description: '', source: 'custom', rules: [{ name: 'out', when: { attributes: { employeeType: ['\u00DF* x'] } }, then: { effect: 'deny' } }, { name: 'everyone else', then: { effect: 'permit' } }] satisfies Rule[] };
  const user: User = { id: 'u', username: 'alice', groups: [], attributes: { employeetype: ['\u00DF\u0301\tx'] } };
  assert.equal(decide({ policy, user, enrolledMethods: [], factors: [{ method: 'pwd', at: now }], network: { ip: '203.0.113.1' }, protocol: 'oidc', now }, networks).effect, 'deny');
});

test('broadly, a precomposed İ after a dotless ı with a mark is still the I the pattern ends with (slapd composes, it does not decompose)', () => {
  assert.ok(patternMatches('\u0131*I', '\u0131\u0301\u0130', 'broad'));
});
