import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldCase } from '../../src/core/fold-case.ts';
import { wildcardMatch } from '../../src/policy/patterns.ts';

/**
 * Case folding makes every sigma σ; toLowerCase writes a Σ at a word's end as ς, so a part of a
 * pattern cut at a `*` would fold otherwise than the same letters inside a value.
 */
test('foldCase folds Σ and ς to σ wherever they stand', () => {
  assert.equal(foldCase('\u039A\u03A9\u03A3'), '\u03BA\u03C9\u03C3', 'ΚΩΣ is κωσ');
  assert.equal(foldCase('\u03BA\u03C9\u03C2'), '\u03BA\u03C9\u03C3', 'κως is κωσ');
  assert.equal(foldCase('\u039F\u0394\u03A5\u03A3\u03A3\u0395\u0391\u03A3'), foldCase('\u03BF\u03B4\u03C5\u03C3\u03C3\u03B5\u03B1\u03C2'), 'ΟΔΥΣΣΕΑΣ is οδυσσεας');
});

test('a search with a wildcard after a capital sigma finds the name that goes on (mfa list --search ΚΩΣ*)', () => {
  assert.ok(wildcardMatch('\u039A\u03A9\u03A3*', '\u039A\u03A9\u03A3\u03A4\u0391\u03A3'));
  assert.ok(wildcardMatch('*\u0391\u03A3*', '\u039A\u0391\u03A3\u03A4\u03A1\u039F'), '*ΑΣ* finds ΚΑΣΤΡΟ');
});
