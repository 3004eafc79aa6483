import { resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Store } from '../store/store.ts';
import type { SecretBox } from '../core/secret-box.ts';
import type { Clock } from '../core/clock.ts';
import type { PolicyStore } from '../policy/policy-store.ts';
import type { TrustedNetworks } from '../policy/networks.ts';
import type { MfaServices } from '../mfa/build-mfa.ts';
import type { ClientRegistry } from '../oidc/client-registry.ts';
import type { SpRegistry } from '../saml/sp-registry.ts';
import type { LocalUserAdmin } from '../directory/local-user-admin.ts';

export interface ParsedArgs {
  /** Words after the command name that are not options. */
  positional: string[];
  /** A string option's value; true for a flag given. */
  options: Record<string, string | true>;
  /** Every value of a list option, in order (--group a --group b). */
  lists: Record<string, string[]>;
}

/** A flag takes no value (--force); a string option takes one (--out FILE); a list option may be repeated, each value kept. */
export type OptionKind = 'flag' | 'string' | 'list';

/** What a command gets: the validated config and, opened on first use, the store and secret box. */
export interface CliContext {
  config: Config;
  /**
   * This run's id (a UUID): every audit event of the run carries it as `commandId`, and its log lines
   * as `cmdId`, as a web request's carry `requestId` and `reqId`, so the events of one command can be
   * told from those of another run at the same moment.
   */
  commandId: string;
  store(): Promise<Store>;
  box(): SecretBox;
  clock: Clock;
  out(line: string): void;
  err(line: string): void;
}

/**
 * What a command runs with: the CliContext, and the services several commands use, built from it
 * on first use and then kept for the command (command-context.ts), as the server builds them once.
 */
export interface CommandContext extends CliContext {
  policies(): Promise<PolicyStore>;
  /** The config's trustedNetworks, as the policies' conditions name them. */
  trustedNetworks(): Promise<TrustedNetworks>;
  mfa(): Promise<MfaServices>;
  clients(): Promise<ClientRegistry>;
  serviceProviders(): Promise<SpRegistry>;
  localUsers(): Promise<LocalUserAdmin>;
}

export interface CliCommand {
  /** One or two words, e.g. "sp add". */
  name: string;
  summary: string;
  /** Full help text shown by --help (usage line, options, examples). */
  help: string;
  /** Every option the command knows, by name without the dashes: any other is a usage error. */
  options: Readonly<Record<string, OptionKind>>;
  /** The positional arguments as the usage line names them; "[name]" is optional. More words are a usage error. */
  arguments: readonly string[];
  /** Returns the process exit code: 0 ok, 1 refused/failed, 2 usage error. */
  run(args: ParsedArgs, context: CommandContext): Promise<number>;
}

/** Every value of a list option, whether repeated (--x a --x b) or space-separated (--x "a b"). */
export function listOption(args: ParsedArgs, name: string): string[] {
  return (args.lists[name] ?? []).flatMap((value) => value.split(/\s+/)).filter(Boolean);
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.options[name];
  return typeof value === 'string' ? value : undefined;
}

/** Whether any option at all was given (a command that changes only what is asked needs one). */
export function anyOptionGiven(args: ParsedArgs): boolean {
  return Object.keys(args.options).length > 0 || Object.keys(args.lists).length > 0;
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
