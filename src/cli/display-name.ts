import type { ParsedArgs } from './command.ts';
import { stringOption, UsageError } from './command.ts';

/**
 * The --name of an application, shown on sign-in pages and in `list` output. A control character
 * (ESC, a line break, BEL) would act on the terminal of the admin reading the list, or split a line.
 */
export function displayNameOption(args: ParsedArgs): string | undefined {
  const name = stringOption(args, 'name');
  if (name !== undefined && /[\p{Cc}\u2028\u2029]/u.test(name)) throw new UsageError(`--name must not contain control characters: ${JSON.stringify(name)}`);
  return name;
}
