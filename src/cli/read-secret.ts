import { readFileSync } from 'node:fs';
import type { ParsedArgs } from './command.ts';
import { pathOption, UsageError } from './command.ts';
import { MIN_PASSWORD_LENGTH } from '../core/password-envelope.ts';

/**
 * Secrets never travel as command-line arguments (they would show in `ps` and shell history):
 * they come from a file (--password-file) or from standard input (--password-stdin).
 */
export function readSecretOption(args: ParsedArgs, name = 'password'): string | undefined {
  const file = pathOption(args, `${name}-file`);
  if (file) return readTextFile(file, `--${name}-file`).replace(/\r?\n$/, '');
  if (args.options[`${name}-stdin`] === true) return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  if (args.options[name] !== undefined) throw new UsageError(`--${name} is not accepted on the command line; use --${name}-file FILE or --${name}-stdin`);
  return undefined;
}

/** The password of an encrypted export file (mfa export, config export) and of its import: required, and long enough. */
export function readExportPassword(args: ParsedArgs): string {
  const value = readSecretOption(args);
  if (value === undefined) throw new UsageError('--password-file FILE (or --password-stdin) is required');
  if (value.length < MIN_PASSWORD_LENGTH) throw new UsageError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  return value;
}

/** A file the administrator named, or a one-line error naming the option and the full path (not a stack). */
export function readTextFile(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`${option}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}
