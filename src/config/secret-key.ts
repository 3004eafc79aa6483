import { chmodSync, existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError } from './load.ts';
import type { Config } from './schema.ts';

/** Where a warning about the key file goes: the server's log (a pino logger) or the CLI's standard error. */
export interface KeyFileWarnings {
  warn(fields: Record<string, unknown>, message: string): void;
}

/**
 * The key that encrypts secrets at rest. On a fresh data directory with no key configured, one is
 * generated into <dataDir>/secret.key (mode 0600). Once data exists, a missing key is a start-up error:
 * generating a new one would make every stored secret unreadable.
 */
export function loadSecretKey(config: Config, options: { dataIsFresh: boolean; warnings?: KeyFileWarnings }): { key: Buffer; generatedAt?: string } {
  if (config.secretKey) return { key: decode(config.secretKey, 'secretKey (STEPGATE_SECRET_KEY)') };
  const file = keyFile(config);
  const where = `secretKeyFile (${file})`;
  if (existsSync(file)) {
    const text = readKeyFile(file, where);
    makePrivate(file, options.warnings);
    return { key: decode(text.trim(), where) };
  }
  if (config.secretKeyFile && options.dataIsFresh) {
    // Nothing is stored yet, so any new key will do: say how to make one rather than ask for "the key this data directory was created with".
    throw new ConfigError([
      `${where}: the file does not exist. Create it with a new key: openssl rand -base64 32 > ${file} && chmod 600 ${file} ` +
        '(or leave secretKeyFile and STEPGATE_SECRET_KEY_FILE out: at first start Stepgate then makes <dataDir>/secret.key). Back the key up: the stored secrets cannot be read without it.',
    ]);
  }
  if (config.secretKeyFile || !options.dataIsFresh) {
    throw new ConfigError([
      `secretKey: the encryption key for stored secrets is missing (looked for ${file}). ` +
        'Set STEPGATE_SECRET_KEY or secretKeyFile to the key this data directory was created with.',
    ]);
  }
  const key = randomBytes(32);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return { key, generatedAt: file };
}

/** The key file's text; a directory or a file this user may not read is named like any other key problem. */
function readKeyFile(file: string, where: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new ConfigError([`${where}: is a directory; give the path of the file that holds the key`]);
    throw new ConfigError([`${where}: cannot be read (${code ?? (error as Error).message}); the user Stepgate runs as must be able to read it`]);
  }
}

/**
 * Takes group and others' access away from a key file that has it (copied or restored with 0644), as
 * the store does for its files; the owner's bits are kept (a key installed 0400 stays so). A file
 * this user may not change (another owner, a read-only mount) is left as it is. Either way the admin
 * is told: a key others could read may have been copied already, which making it private does not undo.
 */
function makePrivate(file: string, warnings: KeyFileWarnings | undefined): void {
  const mode = statSync(file).mode & 0o777;
  if (!(mode & 0o077)) return;
  const fields = { event: 'secret-key.private', file, mode: mode.toString(8) };
  const exposure =
    mode & 0o044
      ? ' Anyone who could read it may have copied it: with a copy of the data directory (a backup, a snapshot) it opens the stored secrets (signing keys, client secrets, TOTP seeds, sessions). If that may have happened, treat them as exposed.'
      : '';
  try {
    chmodSync(file, mode & 0o700);
  } catch (error) {
    // Not ours to change: reading it is still possible, and refusing to start would not make it private.
    warnings?.warn({ ...fields, error: (error as NodeJS.ErrnoException).code }, `the secret key file is open to other users (mode ${mode.toString(8)}) and could not be made private.${exposure}`);
    return;
  }
  warnings?.warn(fields, `the secret key file was open to other users (mode ${mode.toString(8)}); made it private (${(mode & 0o700).toString(8)}).${exposure}`);
}

function keyFile(config: Config): string {
  return config.secretKeyFile ?? join(config.dataDir, 'secret.key');
}

function decode(value: string, where: string): Buffer {
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32) throw new ConfigError([`${where}: must be the base64 encoding of exactly 32 random bytes`]);
  return key;
}

/**
 * The configured key does not open the secrets a data directory holds: usually the key of another
 * installation, or a new one made after secret.key was lost. Named like a missing key, so the admin
 * looks for the right key rather than at AES-GCM.
 */
export function secretKeyMismatch(config: Config): ConfigError {
  const from = config.secretKey ? 'secretKey (STEPGATE_SECRET_KEY)' : `secretKeyFile (${keyFile(config)})`;
  return new ConfigError([
    `secretKey: the key from ${from} does not open the secrets stored in ${config.dataDir}. ` +
      'Set STEPGATE_SECRET_KEY or secretKeyFile to the key this data directory was created with.',
  ]);
}
