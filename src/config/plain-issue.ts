import type { z } from 'zod';

/**
 * The schema library's own messages ("Too small: expected number to be >0", "Invalid input: expected
 * int, received number") in the words the README's examples use ("must be a whole number"), so an
 * administrator reads what to write rather than a type system's notation. Messages the schema wrote
 * itself (e.g. "must be 6, 7 or 8") are kept as they are.
 */

const TYPE_WORDS: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  string: 'text in double quotes',
  array: 'a list [ … ]',
  object: 'an object { … }',
};

/** Whether `issue` still has the schema library's message: only those are reworded. */
function hasLibraryMessage(issue: z.core.$ZodIssue): boolean {
  return /^(Too small|Too big|Invalid input|Invalid option|Invalid string|Invalid discriminator value)\b/.test(issue.message);
}

function sizeWords(origin: string, bound: number | bigint, inclusive: boolean | undefined, side: 'least' | 'most'): string | undefined {
  const n = Number(bound);
  if (origin === 'number' || origin === 'int' || origin === 'bigint') {
    if (inclusive === false) return side === 'least' ? `must be more than ${n}` : `must be less than ${n}`;
    return `must be at ${side} ${n}`;
  }
  if (origin === 'string') return side === 'least' && n === 1 ? 'must not be empty' : `must have at ${side} ${n} characters`;
  if (origin === 'array' || origin === 'set') return side === 'least' && n === 1 ? 'must list at least one entry' : `must list at ${side} ${n} entries`;
  return undefined;
}

const quoted = (values: readonly unknown[]) => values.map((value) => JSON.stringify(value)).join(', ');

/** The plain words for one schema issue (without its key path). */
export function plainIssueMessage(issue: z.core.$ZodIssue): string {
  if (!hasLibraryMessage(issue)) return issue.message;
  switch (issue.code) {
    case 'too_small':
      return sizeWords(issue.origin, issue.minimum, issue.inclusive, 'least') ?? issue.message;
    case 'too_big':
      return sizeWords(issue.origin, issue.maximum, issue.inclusive, 'most') ?? issue.message;
    case 'invalid_type': {
      const words = TYPE_WORDS[issue.expected];
      return words ? `must be ${words}` : issue.message;
    }
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${quoted(issue.values)}` : `must be one of ${quoted(issue.values)}`;
    case 'invalid_union': {
      const options = (issue as { options?: unknown[] }).options;
      return Array.isArray(options) && options.length > 0 ? `must be one of ${quoted(options)}` : issue.message;
    }
    case 'invalid_format':
      if (issue.format === 'includes' && 'includes' in issue) return `must contain ${JSON.stringify(issue.includes)}`;
      if (issue.format === 'regex' && 'pattern' in issue) return `must match the pattern ${String(issue.pattern)}`;
      return issue.message;
    default:
      return issue.message;
  }
}
