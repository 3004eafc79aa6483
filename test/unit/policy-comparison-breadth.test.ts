import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/policy/policy-engine.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import { foldedGroupNames, inGroup, ldapGroupNames } from '../../src/policy/group-references.ts';
import { patternMatches, patternsMatchAny, wildcardMatch } from '../../src/policy/patterns.ts';
import type { Policy, Rule } from '../../src/policy/policy-types.ts';
import type { User } from '../../src/core/types.ts';

/** Letters each folding treats its own way: ASCII case, Turkish I, ß, Kelvin, fullwidth, long s, a combining mark, spaces. */
const ALPHABET = ['a', 'A', 'i', 'I', '\u0131', '\u0130', 's', 'S', '\u00DF', '\u1E9E', '\u017F', 'k', '\u212A', '\uFF41', '\uFF21', '\u0301', ' ', '\u00A0', '\t', '\u3000', '*'];
/** Mostly white space around a few letters and `*`s: where a space next to a `*` must be given a meaning. */
const SPACED = ['a', 'A', 'b', ' ', ' ', ' ', '\t', '\u00A0', '\u3000', '\u0301', '*', '*'];

function words(seed: number, alphabet: readonly string[] = ALPHABET): (maxLength: number) => string {
  let state = seed;
  const random = (n: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state % n;
  };
  return (maxLength) => Array.from({ length: random(maxLength + 1) }, () => alphabet[random(alphabet.length)]).join('');
}

test('whatever compares equal narrowly compares equal broadly: names, DNs and patterns', () => {
  const word = words(7);
  for (let i = 0; i < 20_000; i++) {
    const pattern = word(5);
    const value = i % 3 === 0 ? pattern.replaceAll('*', word(2)) : word(6);
    if (patternMatches(pattern, value, 'narrow')) assert.ok(patternMatches(pattern, value, 'broad'), `${JSON.stringify(pattern)} against ${JSON.stringify(value)}`);
    const name = pattern.replaceAll('*', '') || 'x';
    const user: User = { id: 'u', username: 'u', groups: [value], groupDns: [`cn=${value.trim() || 'x'},dc=example,dc=org`], attributes: {} };
    if (inGroup(user, name, 'narrow')) assert.ok(inGroup(user, name, 'broad'), `group ${JSON.stringify(value)} for ${JSON.stringify(name)}`);
    const dn = `cn=${name.trim() || 'x'},dc=example,dc=org`;
    if (inGroup(user, dn, 'narrow')) assert.ok(inGroup(user, dn, 'broad'), `${JSON.stringify(user.groupDns)} for ${JSON.stringify(dn)}`);
  }
});

test('white space: whatever a pattern takes in narrowly it takes in broadly, for one value as for a list', () => {
  const word = words(11, SPACED);
  for (let i = 0; i < 20_000; i++) {
    const pattern = word(7);
    const value = i % 2 === 0 ? pattern.replaceAll('*', () => word(3).replaceAll('*', '')) : word(8).replaceAll('*', '');
    const narrow = patternMatches(pattern, value, 'narrow');
    if (narrow) assert.ok(patternMatches(pattern, value, 'broad'), `${JSON.stringify(pattern)} against ${JSON.stringify(value)}`);
    assert.equal(patternsMatchAny([pattern], [value], 'narrow'), narrow, `list: ${JSON.stringify(pattern)} against ${JSON.stringify(value)}`);
  }
});

test('narrow is ASCII case and U+0020 spaces only; broad folds case fully', () => {
  const user: User = { id: 'u', username: 'u', groups: ['Sales  EMEA', 'stra\u00DFe', 'ADM\u0130N'], attributes: {} };
  assert.ok(inGroup(user, 'sales emea', 'narrow'));
  assert.ok(inGroup(user, 'stra\u00DFe', 'narrow'));
  assert.ok(!inGroup(user, 'strasse', 'narrow') && inGroup(user, 'strasse', 'broad'));
  assert.ok(!inGroup(user, 'admin', 'narrow') && inGroup(user, 'admin', 'broad'));
  assert.ok(inGroup(user, 'admin'), 'without a comparison: broadly, as before');
  assert.ok(patternMatches('ext-*', 'EXT-bob', 'narrow'));
  assert.ok(!patternMatches('k*', '\u212Aelvin', 'narrow') && patternMatches('k*', '\u212Aelvin', 'broad'));
  assert.equal(wildcardMatch('adm*', 'ADM\u0131N'), true, 'mfa list --search still finds look-alikes');
  // The ASCII folding takes `a` + U+0301 for `a*`; foldCase composes it into á, which `a*` is not.
  assert.ok(!patternMatches('a*', 'a\u0301', 'narrow') && patternMatches('a*', 'a\u0301', 'broad'));
});

test('the narrow names are folded once per list of groups, as the broad ones', () => {
  const user: User = { id: 'u', username: 'u', groups: ['Admins', 'Sales  EMEA '], attributes: {} };
  const names = ldapGroupNames(user);
  assert.deepEqual([...names], ['admins', 'sales emea']);
  assert.equal(ldapGroupNames({ ...user }), names);
  assert.notEqual(ldapGroupNames({ ...user, groups: ['x'] }), names);
  assert.notEqual(foldedGroupNames(user), names);
});

test('a user in 200 groups against 1000 rules of each effect falls through to the last rule', () => {
  const networks = compileNetworks({});
  const user: User = { id: 'u', username: 'many', groups: Array.from({ length: 200 }, (_, i) => `Project-${i}`), attributes: { department: ['Research'] } };
  const rulesOf = (effect: Rule['then']['effect']): Rule[] =>
    Array.from({ length: 999 }, (_, i) => ({ name: `r${i}`, when: i % 2 ? { groups: [`dept-${i}`] } : { attributes: { department: [`dept-${i}*`] } }, then: { effect } as Rule['then'] }));
  for (const effect of ['permit', 'deny', 'require-mfa'] as const) {
    const policy: Policy = { name: effect, description: '', source: 'custom', rules: [...rulesOf(effect), { name: 'last', then: { effect: 'permit' } }] };
    // How fast is the bench's to say (npm run bench); folding once per list of groups is pinned above.
    const decided = decide({ policy, user: { ...user, groups: [...user.groups] }, enrolledMethods: [], factors: [{ method: 'pwd', at: 0 }], network: { ip: '203.0.113.7' }, protocol: 'oidc', now: 0 }, networks);
    assert.equal(decided.rule.name, 'last');
    assert.equal(decided.effect, 'allow');
  }
});
