import { readFileSync } from 'node:fs';
import type { ParsedArgs } from './command.ts';
import { stringOption, UsageError } from './command.ts';

/**
 * Secrets never travel as command-line arguments (they would show in `ps` and shell history):
 * they come from a file (--password-file) or from standard input (--password-stdin).
 */
export function readSecretOption(args: ParsedArgs, name = 'password'): string | undefined {
  const file = stringOption(args, `${name}-file`);
  if (file) return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  if (args.options[`${name}-stdin`] === true) return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  if (args.options[name] !== undefined) throw new UsageError(`--${name} is not accepted on the command line; use --${name}-file FILE or --${name}-stdin`);
  return undefined;
}
