import { resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Store } from '../store/store.ts';
import type { SecretBox } from '../core/secret-box.ts';
import type { Clock } from '../core/clock.ts';

export interface ParsedArgs {
  /** Words after the command name. */
  positional: string[];
  /** --name value, --flag (true). A repeated option keeps its last value here... */
  options: Record<string, string | boolean>;
  /** ...and every value here, in order. */
  repeated: Record<string, string[]>;
}

/** What a command gets: the validated config and, opened on first use, the store and secret box. */
export interface CliContext {
  config: Config;
  store(): Promise<Store>;
  box(): SecretBox;
  clock: Clock;
  out(line: string): void;
  err(line: string): void;
}

export interface CliCommand {
  /** One or two words, e.g. "sp add". */
  name: string;
  summary: string;
  /** Full help text shown by --help (usage line, options, examples). */
  help: string;
  /** Returns the process exit code: 0 ok, 1 refused/failed, 2 usage error. */
  run(args: ParsedArgs, context: CliContext): Promise<number>;
}

export function parseArgs(words: string[]): ParsedArgs {
  const positional: string[] = [];
  const options: Record<string, string | boolean> = {};
  const repeated: Record<string, string[]> = {};
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    if (word.startsWith('--')) {
      const [name, inline] = word.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
      const value = inline ?? (words[index + 1] !== undefined && !words[index + 1]!.startsWith('--') ? words[++index]! : true);
      options[name] = value;
      if (typeof value === 'string') (repeated[name] ??= []).push(value);
    } else positional.push(word);
  }
  return { positional, options, repeated };
}

/** Every value of a list option, whether repeated (--x a --x b) or space-separated (--x "a b"). */
export function listOption(args: ParsedArgs, name: string): string[] {
  return (args.repeated[name] ?? []).flatMap((value) => value.split(/\s+/)).filter(Boolean);
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.options[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * A file path the administrator typed, made absolute from the folder they typed it in: npm runs
 * `npm run cli` in the project folder, and says where the command was typed in INIT_CWD. (The data
 * directory and the config file stay relative to the project folder, as for `npm start`.)
 */
export function typedPath(path: string): string {
  return resolve(process.env.INIT_CWD ?? process.cwd(), path);
}

/** A path option (--out, --in, --password-file), made absolute as typedPath does. */
export function pathOption(args: ParsedArgs, name: string): string | undefined {
  const value = stringOption(args, name);
  return value === undefined ? undefined : typedPath(value);
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Only the options a command knows, and flags without values: a value after a flag would otherwise be swallowed silently. */
export function checkOptions(args: ParsedArgs, values: string[], flags: string[]): void {
  if (args.positional.length) throw new UsageError(`unexpected argument ${args.positional[0]}`);
  const unknown = Object.keys(args.options).filter((name) => !values.includes(name) && !flags.includes(name));
  if (unknown.length) throw new UsageError(`unknown option --${unknown[0]}`);
  for (const flag of flags) if (typeof args.options[flag] === 'string') throw new UsageError(`--${flag} takes no value`);
}
