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

/** Returns every rule the password breaks, in plain words; empty when it is acceptable. */
export function passwordProblems(rules: PasswordRules, password: string, username: string): string[] {
  const problems: string[] = [];
  if (password.length < rules.minLength) problems.push(`It must be at least ${rules.minLength} characters long.`);
  if (password.length > MAX_PASSWORD_LENGTH) problems.push(`It must be at most ${MAX_PASSWORD_LENGTH} characters long.`);
  if (rules.requireLetter && !/\p{L}/u.test(password)) problems.push('It must contain a letter.');
  if (rules.requireDigit && !/\p{N}/u.test(password)) problems.push('It must contain a digit.');
  if (rules.requireMixedCase && !(/\p{Lu}/u.test(password) && /\p{Ll}/u.test(password))) problems.push('It must contain upper- and lower-case letters.');
  if (rules.requireSpecial && !/[^\p{L}\p{N}]/u.test(password)) problems.push('It must contain a special character.');
  if (username && password.toLowerCase().includes(username.toLowerCase())) problems.push('It must not contain your username.');
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
    ...(rules.requireSpecial ? ['contain a character that is neither a letter nor a digit'] : []),
    'not contain your username',
    `not be one of your last ${previousKept + 1} passwords`,
  ];
}
