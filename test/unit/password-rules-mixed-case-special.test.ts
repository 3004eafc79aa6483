import { test } from 'node:test';
import assert from 'node:assert/strict';
import { passwordProblems, passwordRuleWords, type PasswordRules } from '../../src/directory/password-rules.ts';
import { parseConfig } from '../../src/config/load.ts';

/**
 * README: directory.passwordRules `requireMixedCase` and `requireSpecial` (both off by default), the local
 * store's rules the product notes list with length, digits and letters. The rules judge the NFKC form.
 */

const STRICT: PasswordRules = { minLength: 12, requireLetter: true, requireDigit: true, requireMixedCase: true, requireSpecial: true };
const MIXED_CASE = 'It must contain upper- and lower-case letters.';
const SPECIAL = /^It must contain a special character/;

const specialProblems = (password: string) => passwordProblems(STRICT, password, 'bob').filter((problem) => SPECIAL.test(problem));

test('requireMixedCase: one case only is refused, in plain words; both cases pass, fullwidth letters as their plain ones', () => {
  for (const password of ['all-lower-1234', 'ALL-UPPER-1234', 'ÉCOLE-ÉTÉ-1234']) assert.deepEqual(passwordProblems(STRICT, password, 'bob'), [MIXED_CASE], password);
  for (const password of ['Mixed-Case-1234', 'straße-ÉTÉ-1234', 'ＭＩＸＥＤｃａｓｅ-1234']) assert.deepEqual(passwordProblems(STRICT, password, 'bob'), [], password);
});

test('requireSpecial: letters and digits only are refused; punctuation, a symbol or a space counts', () => {
  assert.equal(specialProblems('Letters1234AndDigits').length, 1);
  for (const password of ['Letters-1234x', 'Letters 1234x', 'Letters€1234x', 'Letters+1234x', 'Letters_1234x', 'Letters1234x！']) assert.deepEqual(specialProblems(password), [], password);
});

test('requireSpecial: an invisible character or an accent on a digit is no special character', () => {
  // Each is neither a letter nor a digit, yet adds nothing anyone can see: the password reads as one without a special character.
  for (const invisible of ['\u200b', '\u00ad', '\u2060', '\ufe0f', '\u{e0041}', '\u0301']) {
    assert.equal(specialProblems(`Letters1234x${invisible}`).length, 1, `U+${invisible.codePointAt(0)!.toString(16).toUpperCase()}`);
  }
});

test('both rules are off by default: a lower-case password of letters and digits is accepted', () => {
  const directory = parseConfig({ directory: { kind: 'local' } }).directory;
  assert.ok(directory.kind === 'local');
  assert.equal(directory.passwordRules.requireMixedCase, false);
  assert.equal(directory.passwordRules.requireSpecial, false);
  assert.deepEqual(passwordProblems(directory.passwordRules, 'lowercase1234', 'bob'), []);
});

test('the change-password page lists the two rules only when they are on', () => {
  const words = passwordRuleWords(STRICT, 5);
  assert.ok(words.includes('contain upper- and lower-case letters'), words.join('; '));
  assert.ok(words.some((line) => /^contain a (special character|character that is neither)/.test(line)), words.join('; '));
  const relaxed = passwordRuleWords({ ...STRICT, requireMixedCase: false, requireSpecial: false }, 5);
  assert.ok(!relaxed.some((line) => /upper- and lower-case|special|neither/.test(line)), relaxed.join('; '));
});
