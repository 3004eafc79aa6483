import { readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import type { OptionKind, ParsedArgs } from './command.ts';
import { pathOption, UsageError } from './command.ts';
import { MIN_PASSWORD_LENGTH } from '../core/password-envelope.ts';
import { InputFileError, readInputFile, withoutByteOrderMark } from './read-input-file.ts';

/** The options of a command that reads a password. --password is declared only to be refused with a pointer to the others. */
export const PASSWORD_OPTIONS = { 'password-file': 'string', 'password-stdin': 'flag', password: 'string' } as const satisfies Record<string, OptionKind>;

/** Fewer different characters than this makes an export password trivially guessable, whatever its length ("aaaaaaaaaaaa"). */
export const MIN_DISTINCT_PASSWORD_CHARACTERS = 6;

/** A password never ends with a line break: an editor's final newline (or two, or CRLF) is not part of it. */
const withoutLineEnd = (text: string) => text.replace(/[\r\n]+$/, '');

/**
 * Secrets never travel as command-line arguments (they would show in `ps` and shell history):
 * they come from a file (--password-file) or from standard input (--password-stdin).
 */
export function readSecretOption(args: ParsedArgs): string | undefined {
  const file = pathOption(args, 'password-file');
  if (file) return withoutLineEnd(readTextFile(file, '--password-file'));
  if (args.options['password-stdin'] === true) {
    // A terminal would echo the password as it is typed, on screen and in any recording of the session.
    if (isatty(0)) throw new UsageError(`--password-stdin reads a pipe (printf '%s' "$PW" | ...), not a terminal, which would show the password as it is typed; or use --password-file FILE`);
    return withoutLineEnd(withoutByteOrderMark(readFileSync(0, 'utf8')));
  }
  if (args.options.password !== undefined) throw new UsageError('--password is not accepted on the command line; use --password-file FILE or --password-stdin');
  return undefined;
}

/**
 * A password about to be set or to encrypt a new export: readSecretOption's, refused when its file
 * was not UTF-8 text. Every byte that is not UTF-8 (a Latin-1 "ü") reads as U+FFFD, so two such
 * passwords that differ only there would be one, and the same password saved as UTF-8, or typed at
 * the sign-in page, would not match it. Files of passwords set before are still read as they were.
 */
export function readNewSecretOption(args: ParsedArgs): string | undefined {
  const value = readSecretOption(args);
  if (value?.includes('\uFFFD')) throw new UsageError('the password is not UTF-8 text (an editor may have saved it as Latin-1 or Windows-1252): save it as UTF-8 and try again');
  return value;
}

/** The password of an encrypted export file, to import it (mfa import, config import): required, and long enough. */
export function readExportPassword(args: ParsedArgs): string {
  return required(readSecretOption(args));
}

function required(value: string | undefined): string {
  if (value === undefined) throw new UsageError('--password-file FILE (or --password-stdin) is required');
  if (value.length < MIN_PASSWORD_LENGTH) throw new UsageError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  return value;
}

/**
 * The password to encrypt a new export with (mfa export, config export): also varied enough. Only
 * new files: a file made before this rule must still open.
 */
export function readNewExportPassword(args: ParsedArgs): string {
  const value = required(readNewSecretOption(args));
  if (new Set(value).size < MIN_DISTINCT_PASSWORD_CHARACTERS) throw new UsageError(`the password is too easy to guess: use at least ${MIN_DISTINCT_PASSWORD_CHARACTERS} different characters`);
  return value;
}

/** A file the administrator named (see readInputFile), or a one-line error naming the option and the full path (not a stack). */
function readTextFile(path: string, option: string): string {
  try {
    return readInputFile(path);
  } catch (error) {
    if (!(error instanceof InputFileError)) throw error;
    throw new UsageError(`${option}: ${error.message}`);
  }
}
