import { test } from 'node:test';
import assert from 'node:assert/strict';
import { patternMatches, patternsMatchAny } from '../../src/policy/patterns.ts';
import type { Rule } from '../../src/policy/policy-types.ts';
import { decisionForEmployeeType } from '../helpers/attribute-decision.ts';

/**
 * slapd 2.5 lowercases each character as written (İ is i, Σ is σ wherever it stands) and only then
 * composes: a combining mark joins the letter the folding gave. Checked against slapd with substring
 * and equality filters. A permit rule must not take in what slapd tells apart, a deny rule must hold
 * for what slapd matches.
 */
test('narrowly, a dotted İ does not match where a combining mark after it makes it another letter (í)', () => {
  assert.equal(patternMatches('*\u0130*', '\u0131\u0130\u0301\u0301\u0131', 'narrow'), false);
  assert.ok(patternMatches('*\u0130*', '\u0131\u0130\u0301\u0301\u0131', 'broad'), 'broadly still: narrow stays within broad');
  assert.ok(patternMatches('*\u0130*', 'x\u0130', 'narrow'), 'an İ without a mark after it is still found');
  const rules: Rule[] = [{ name: 'in', when: { attributes: { employeeType: ['*\u0130*'] } }, then: { effect: 'permit' } }, { name: 'nobody else', then: { effect: 'deny' } }];
  assert.equal(decisionForEmployeeType(rules, '\u0131\u0130\u0301\u0301\u0131'), 'deny');
});

test('broadly, İ followed by a combining dot above matches I followed by it: both are i and the dot to slapd', () => {
  for (const pattern of ['\u0130\u0307', '\u0130\u0307*', '\u0130*\u0307', '*\u0130*\u0307']) assert.ok(patternMatches(pattern, 'I\u0307', 'broad'), JSON.stringify(pattern));
  assert.ok(patternsMatchAny(['\u0130\u0307*'], ['x', 'I\u0307\u20DD'], 'broad'), 'in a list of values');
  const rules: Rule[] = [{ name: 'out', when: { attributes: { employeeType: ['\u0130\u0307*'] } }, then: { effect: 'deny' } }, { name: 'everyone else', then: { effect: 'permit' } }];
  assert.equal(decisionForEmployeeType(rules, 'I\u0307'), 'deny');
});

test('broadly, a capital sigma is a small sigma wherever it stands in a pattern, as slapd folds it', () => {
  assert.ok(patternMatches('\u039A\u03A9\u03A3*', '\u03BA\u03C9\u03C3\u03C4\u03B1\u03C2', 'broad'), 'ΚΩΣ* takes in κωστας');
  assert.ok(patternMatches('*\u03A3', '\u03A3\u03A3\u00A0', 'broad'));
  assert.ok(patternMatches('A*\u03A3', '\uFF41\u03A3', 'broad'));
  const rules: Rule[] = [{ name: 'out', when: { attributes: { employeeType: ['\u039A\u03A9\u03A3*'] } }, then: { effect: 'deny' } }, { name: 'everyone else', then: { effect: 'permit' } }];
  assert.equal(decisionForEmployeeType(rules, '\u03BA\u03C9\u03C3\u03C4\u03B1\u03C2'), 'deny');
});

test('narrowly, a final sigma is still not a small sigma: slapd keeps ς and σ apart', () => {
  assert.equal(patternMatches('\u03C3', '\u03C2', 'narrow'), false);
  assert.equal(patternMatches('\u03BA\u03C9\u03C2*', '\u03BA\u03C9\u03C3\u03C4\u03B1\u03C2', 'narrow'), false);
});

test('narrowly, a pattern in Greek capitals takes in a value written the same way: a Σ before a `*` is σ, not a final ς', () => {
  assert.ok(patternMatches('\u039A\u03A9\u03A3*', '\u039A\u03A9\u03A3\u03A4\u0391\u03A3', 'narrow'), 'ΚΩΣ* takes in ΚΩΣΤΑΣ');
  assert.ok(patternMatches('i\u03A3*', 'I\u03A3x', 'narrow'), 'iΣ* takes in IΣx');
  assert.ok(patternMatches('\u039F\u03B4\u03C5\u03C3\u03C3*', '\u039F\u03B4\u03C5\u03C3\u03C3\u03AD\u03B1\u03C2', 'narrow'), 'Οδυσσ* takes in Οδυσσέας');
  const rules: Rule[] = [{ name: 'in', when: { attributes: { employeeType: ['\u039A\u03A9\u03A3*'] } }, then: { effect: 'permit' } }, { name: 'nobody else', then: { effect: 'deny' } }];
  assert.equal(decisionForEmployeeType(rules, '\u039A\u03A9\u03A3\u03A4\u0391\u03A3'), 'allow');
  assert.equal(decisionForEmployeeType(rules, '\u03BA\u03C9\u03C3\u03C4\u03B1\u03C2'), 'deny', 'written in another case, slapd matches it but a permit rule keeps every letter but ASCII as written');
});
