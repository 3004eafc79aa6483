import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Config } from './schema.ts';

/**
 * The settings that are secrets: whoever can read the file has the directory's service accounts
 * and the key that opens every secret stored in the data directory (signing keys, client secrets,
 * TOTP seeds, sessions).
 */
const SECRET_SETTINGS = [['secretKey'], ['directory', 'bind', 'password'], ['directory', 'backupBind', 'password']] as const;

/** A config file holding secrets that users other than its owner may read. */
export interface ConfigFileExposure {
  file: string;
  /** Its permission bits, in octal (e.g. "644"). */
  mode: string;
  /** Who besides its owner can read it. */
  readers: 'every user of this machine' | 'the users of its group';
  /** The secret settings the file holds, by their keys (never their values). */
  secrets: string[];
  /** The command that makes it private. */
  fix: string;
}

/** Where the warning goes: the server's log (a pino logger) or the CLI's standard error. */
export interface ExposureWarnings {
  warn(fields: Record<string, unknown>, message: string): void;
}

/**
 * Found when the file is read (loadConfig), told when there is somewhere to tell it: the server
 * logs it once its logger exists, the CLI writes it to stderr. Kept per loaded configuration, so a
 * second load of the same file (public-identity.ts compares with one) tells nothing again.
 */
const exposures = new WeakMap<Config, ConfigFileExposure>();

/** The secrets `settings` (the file's own, as read) holds, when the file's mode lets group or others read it. */
export function configFileExposure(file: string, settings: Record<string, unknown>): ConfigFileExposure | undefined {
  // Windows has no such mode bits: what statSync reports there says nothing about other users.
  if (process.platform === 'win32') return undefined;
  const stats = statSync(file);
  const mode = stats.mode & 0o777;
  if (!(mode & 0o044)) return undefined;
  const secrets = SECRET_SETTINGS.filter((path) => typeof valueAt(settings, path) === 'string').map((path) => path.join('.'));
  if (!secrets.length) return undefined;
  return { file, mode: octal(mode), readers: mode & 0o004 ? 'every user of this machine' : 'the users of its group', secrets, fix: privateCommand(file, mode, stats.uid) };
}

export function rememberExposure(config: Config, exposure: ConfigFileExposure | undefined): void {
  if (exposure) exposures.set(config, exposure);
}

/** Warns, once for this configuration, when its file holds secrets that others can read. */
export function warnIfConfigFileExposed(config: Config, warnings: ExposureWarnings): void {
  const exposure = exposures.get(config);
  if (!exposure) return;
  exposures.delete(config);
  const { file, mode, readers, secrets, fix } = exposure;
  warnings.warn(
    { event: 'config.file-exposed', file, mode, secrets },
    `the config file ${file} holds secrets (${secrets.join(', ')}) and ${readers} can read it (mode ${mode}); make it private: ${fix}. Anyone who could read it may have copied them: if that may have happened, treat them as exposed.`,
  );
}

/**
 * The command that leaves the file readable by the user Stepgate runs as only. Taking group and
 * others' access away is enough when this user owns it; otherwise this user reads it through its
 * group or others, and must own it first. Root (a CLI run with sudo) cannot tell which user the
 * server runs as: a root-owned file others may read may be how the server reads it (root:stepgate
 * 0640), so both cases are named.
 */
function privateCommand(file: string, mode: number, owner: number): string {
  const uid = process.getuid?.();
  if (uid === 0 && owner === 0 && (mode & 0o044) !== 0) return `chmod 600 ${file} if Stepgate runs as root; if it runs as another user, first chown that user ${file} (chmod 600 alone would leave only root able to read it)`;
  if (uid === undefined || uid === 0 || uid === owner) return `chmod ${octal(mode & 0o700)} ${file}`;
  return `sudo chown ${userInfo().username} ${file} && sudo chmod 600 ${file}`;
}

function octal(mode: number): string {
  return mode.toString(8).padStart(3, '0');
}

function valueAt(settings: Record<string, unknown>, path: readonly string[]): unknown {
  let value: unknown = settings;
  for (const key of path) value = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}
