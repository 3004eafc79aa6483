import { storedPasswordForm } from './password-form.ts';

/**
 * The longest password the sign-in form accepts (longer ones are refused before any directory is asked,
 * so a huge body costs no hashing). A password may never be set longer than this: it could not sign in.
 */
export const MAX_PASSWORD_LENGTH = 1024;

export interface PasswordRules {
  minLength: number;
  requireLetter: boolean;
  requireDigit: boolean;
  requireMixedCase: boolean;
  requireSpecial: boolean;
}

/**
 * A username shorter than this is not looked for in the password, as Active Directory does: a user
 * named "e" could otherwise have no password with an e in it. Such names are valid local usernames.
 */
const SHORTEST_USERNAME_LOOKED_FOR = 3;

/** Compatibility forms folded as the hash folds them (the fullwidth ａｌｉｃｅ is alice), and case: the username rule holds in any case. */
const folded = (text: string) => storedPasswordForm(text).toLowerCase();

/**
 * A special character is one that shows: punctuation, a symbol or a space. Format characters (a zero-width
 * space, a soft hyphen, a variation selector) and marks are neither letters nor digits either, but a
 * password made special by one of them reads, and is remembered, as letters and digits only.
 */
const SPECIAL_CHARACTER = /[\p{P}\p{S}\p{Zs}]/u;

/**
 * Returns every rule the password breaks, in plain words; empty when it is acceptable. The rules judge
 * the form that is hashed (storedPasswordForm), not the one typed: "e" and a combining accent typed
 * five times are five characters kept, not ten; the length also counts what was typed, so a ligature
 * that NFKC spells out is one character. The upper limit alone is on what is typed: it is the
 * sign-in form's limit.
 */
export function passwordProblems(rules: PasswordRules, password: string, username: string): string[] {
  const stored = storedPasswordForm(password);
  const problems: string[] = [];
  // In code points, and the shorter of the two forms: NFKC can shorten (e and an accent are one) and
  // lengthen (the ligature U+FDFA is 18 letters kept for 1 typed), and a rule on length must not be met by a ligature.
  if (Math.min([...password].length, [...stored].length) < rules.minLength) problems.push(`It must be at least ${rules.minLength} characters long.`);
  if (password.length > MAX_PASSWORD_LENGTH) problems.push(`It must be at most ${MAX_PASSWORD_LENGTH} characters long.`);
  if (rules.requireLetter && !/\p{L}/u.test(stored)) problems.push('It must contain a letter.');
  if (rules.requireDigit && !/\p{N}/u.test(stored)) problems.push('It must contain a digit.');
  if (rules.requireMixedCase && !(/\p{Lu}/u.test(stored) && /\p{Ll}/u.test(stored))) problems.push('It must contain upper- and lower-case letters.');
  if (rules.requireSpecial && !SPECIAL_CHARACTER.test(stored)) problems.push('It must contain a special character: a punctuation mark, a symbol or a space.');
  const name = folded(username);
  if (name.length >= SHORTEST_USERNAME_LOOKED_FOR && folded(password).includes(name)) problems.push('It must not contain your username.');
  return problems;
}

/**
 * The rules in the words of a list shown above the form ("Your new password must …"), so that the user
 * meets them on the first try instead of learning them one refusal at a time.
 */
export function passwordRuleWords(rules: PasswordRules, previousKept: number): string[] {
  return [
    `be at least ${rules.minLength} characters long`,
    ...(rules.requireLetter ? ['contain a letter'] : []),
    ...(rules.requireDigit ? ['contain a digit'] : []),
    ...(rules.requireMixedCase ? ['contain upper- and lower-case letters'] : []),
    ...(rules.requireSpecial ? ['contain a special character: a punctuation mark, a symbol or a space'] : []),
    'not contain your username',
    `not be one of your last ${previousKept + 1} passwords`,
  ];
}
