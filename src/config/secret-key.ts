import { chmodSync, existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError } from './load.ts';
import type { Config } from './schema.ts';

/**
 * The key that encrypts secrets at rest. On a fresh data directory with no key configured, one is
 * generated into <dataDir>/secret.key (mode 0600). Once data exists, a missing key is a start-up error:
 * generating a new one would make every stored secret unreadable.
 */
export function loadSecretKey(config: Config, options: { dataIsFresh: boolean }): { key: Buffer; generatedAt?: string } {
  if (config.secretKey) return { key: decode(config.secretKey, 'secretKey (STEPGATE_SECRET_KEY)') };
  const file = keyFile(config);
  if (existsSync(file)) {
    makePrivate(file);
    return { key: decode(readFileSync(file, 'utf8').trim(), `secretKeyFile (${file})`) };
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

/**
 * Takes group and others' access away from a key file that has it (copied or restored with 0644), as
 * the store does for its files; the owner's bits are kept (a key installed 0400 stays so). A file
 * this user may not change (another owner, a read-only mount) is left as it is.
 */
function makePrivate(file: string): void {
  try {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) chmodSync(file, mode & 0o700);
  } catch {
    // not ours to change: reading it is still possible, and refusing to start would not make it private
  }
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
