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
