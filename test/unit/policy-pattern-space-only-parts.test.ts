import { test } from 'node:test';
import assert from 'node:assert/strict';
import { patternMatches } from '../../src/policy/patterns.ts';
import type { Rule } from '../../src/policy/policy-types.ts';
import { decisionForEmployeeType } from '../helpers/attribute-decision.ts';

/**
 * A pattern part made only of white space next to an end of the value. U+0020s at a pattern's ends
 * count for nothing (README: ` *@example.org` is `*@example.org`); slapd (2.5, substring filters) takes
 * `(description=a<TAB>* )` as `a<TAB>*`, and matches no value with `(description=<NBSP>*)`, a no-break
 * space at a value's start counting for nothing (a tab counts: `<TAB>*` matches `<TAB>a`). A permit
 * rule must not take in more than the directory would, a deny rule must not miss what it takes in.
 */
test('a pattern starting with a part only of spaces, one of them not U+0020, matches no value narrowly', () => {
  for (const pattern of ['\u00A0*', '\u00A0*a', ' \u00A0*a*', '\u3000*a']) {
    assert.equal(patternMatches(pattern, '\u00A0a', 'narrow'), false, JSON.stringify(pattern));
    assert.equal(patternMatches(pattern, '\u3000a', 'narrow'), false, JSON.stringify(pattern));
  }
  assert.ok(patternMatches('\t*a', '\ta', 'narrow'), 'a tab is a character to slapd, not a space');
  const rules: Rule[] = [{ name: 'in', when: { attributes: { employeeType: ['\u00A0*'] } }, then: { effect: 'permit' } }, { name: 'nobody else', then: { effect: 'deny' } }];
  assert.equal(decisionForEmployeeType(rules, '\u00A0contractor'), 'deny');
});

test('a pattern starting with a part only of white space still holds broadly: a deny rule for it fails closed', () => {
  assert.ok(patternMatches('\u00A0*', '\u00A0a', 'broad'));
  assert.ok(patternMatches('\t*contractor', 'contractor', 'broad'));
});

test('a final part only of white space asks nothing more broadly: `a<TAB>* ` holds for `a<TAB>` with no-break spaces before it, as in slapd', () => {
  assert.ok(patternMatches('a\t* ', '\u00A0\u00A0A\t', 'broad'));
  assert.ok(patternMatches('a\t*\u00A0', 'a\t', 'broad'));
  const rules: Rule[] = [{ name: 'out', when: { attributes: { employeeType: ['a\t* '] } }, then: { effect: 'deny' } }, { name: 'everyone else', then: { effect: 'permit' } }];
  assert.equal(decisionForEmployeeType(rules, '\u00A0\u00A0A\t'), 'deny');
});

test('spaces at the ends of realistic patterns still count for nothing', () => {
  for (const comparison of ['narrow', 'broad'] as const) {
    assert.ok(patternMatches('ext-* ', 'ext-pat', comparison), comparison);
    assert.ok(patternMatches(' *@example.org', 'pat@example.org', comparison), comparison);
    assert.ok(patternMatches('sales *', 'sales  emea', comparison), comparison);
    assert.ok(!patternMatches('sales *', 'salesforce', comparison), comparison);
    assert.ok(!patternMatches('* emea', 'salesemea', comparison), comparison);
  }
});

test('a first part only of a no-break space asks nothing broadly, also of a value without one: a deny rule for `<NBSP>*contractor` fails closed', () => {
  assert.ok(patternMatches('\u00A0*contractor', 'contractor', 'broad'));
  assert.ok(patternMatches('\u3000*', 'a', 'broad'));
  const rules: Rule[] = [{ name: 'out', when: { attributes: { employeeType: ['\u00A0*contractor'] } }, then: { effect: 'deny' } }, { name: 'everyone else', then: { effect: 'permit' } }];
  assert.equal(decisionForEmployeeType(rules, 'contractor'), 'deny');
});

test('a final part only of a no-break space matches narrowly what slapd matches: only a first one matches nothing', () => {
  assert.ok(patternMatches('contractor*\u00A0', 'contractor\u00A0', 'narrow'));
  const rules: Rule[] = [{ name: 'in', when: { attributes: { employeeType: ['contractor*\u00A0'] } }, then: { effect: 'permit' } }, { name: 'nobody else', then: { effect: 'deny' } }];
  assert.equal(decisionForEmployeeType(rules, 'contractor\u00A0'), 'allow');
});

test('narrowly a part only of a space between two `*` needs a space inside the value, not the one at either end', () => {
  assert.ok(!patternMatches('sales* *', 'sales', 'narrow'));
  assert.ok(!patternMatches('* *admins', 'admins', 'narrow'));
  assert.ok(patternMatches('sales* *', 'sales emea', 'narrow'));
  assert.ok(patternMatches('* *admins', 'it admins', 'narrow'));
  assert.ok(patternMatches('* *admins', 'admins', 'broad'), 'broadly the value may begin there');
  const rules: Rule[] = [{ name: 'in', when: { attributes: { employeeType: ['* *admins'] } }, then: { effect: 'permit' } }, { name: 'nobody else', then: { effect: 'deny' } }];
  assert.equal(decisionForEmployeeType(rules, 'admins'), 'deny');
});

test('narrowly `* admin *` does not take the space at the value\'s start for the one before `admin`, where the space after the other `admin` is a tab (slapd: no match)', () => {
  assert.ok(!patternMatches('* admin *', 'admin admin\tx', 'narrow'));
  assert.ok(patternMatches('* admin *', 'x admin y', 'narrow'));
});

test('a doubled `*` is one `*`: the empty part between them asks for no space, either way', () => {
  for (const comparison of ['narrow', 'broad'] as const) assert.ok(patternMatches('contract**or', 'contractor', comparison), comparison);
  const rules: Rule[] = [{ name: 'out', when: { attributes: { employeeType: ['contract**or'] } }, then: { effect: 'deny' } }, { name: 'everyone else', then: { effect: 'permit' } }];
  assert.equal(decisionForEmployeeType(rules, 'contractor'), 'deny');
});
