import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { configSchema, type Config, type ConfigInput } from './schema.ts';
import { unknownKeys } from './unknown-keys.ts';
import { describeJsonMistake } from './json-mistake.ts';
import { configFileExposure, rememberExposure, type ConfigFileExposure } from './config-file-exposure.ts';
import { plainIssueMessage } from './plain-issue.ts';
import type { z } from 'zod';

export class ConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`Invalid configuration:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** The configuration file read: STEPGATE_CONFIG, else stepgate.config.json in the working directory if there is one. */
export function configFilePath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.STEPGATE_CONFIG ?? (existsSync('stepgate.config.json') ? 'stepgate.config.json' : undefined);
}

/** The only place that reads process.env. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigInput = {}): Config {
  // Set but empty (an unset variable in a unit file or script) is not "no file": every default would apply unseen.
  if (env.STEPGATE_CONFIG?.trim() === '') throw new ConfigError(['STEPGATE_CONFIG is set but empty: name the configuration file, or unset it to use stepgate.config.json']);
  const file = configFilePath(env);
  let fromFile: Record<string, unknown> = {};
  let exposure: ConfigFileExposure | undefined;
  if (file) {
    let text: string;
    try {
      text = readFileSync(resolve(file), 'utf8');
    } catch (error) {
      throw new ConfigError([`${file}: cannot be read (${(error as Error).message})`]);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON.parse's message: it quotes the text around the mistake, often a password left unquoted.
      throw new ConfigError([`${file}: cannot be read as JSON: ${describeJsonMistake(text)}`]);
    }
    // null, [] or "…" would otherwise be taken for "no settings" and every default would apply unseen.
    if (!isPlainObject(parsed)) throw new ConfigError([`${file}: must hold a JSON object ({ … }) at its top level, not ${describeJson(parsed)}`]);
    fromFile = parsed;
    exposure = configFileExposure(resolve(file), parsed);
  }
  const fromEnv = envOverrides(env);
  if ('secretKey' in fromEnv || 'secretKeyFile' in fromEnv) {
    // The environment names the key's one source: the file's key or key file must not win over it, nor stand beside it.
    const { secretKey: _key, secretKeyFile: _keyFile, ...rest } = fromFile;
    fromFile = rest;
  }
  const merged = deepMerge(deepMerge(fromFile, fromEnv), overrides as Record<string, unknown>);
  const config = withEnvNames(env, () => parseConfig(merged));
  rememberExposure(config, exposure);
  return config;
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** A refused record key says what a key must look like (the schema's words), not zod's "Invalid key in record". */
function issueMessage(issue: z.core.$ZodIssue): string {
  return issue.code === 'invalid_key' && issue.issues.length > 0 ? `invalid name: ${issue.issues.map((inner) => inner.message).join('; ')}` : plainIssueMessage(issue);
}

export function parseConfig(input: unknown): Config {
  const parsed = configSchema.safeParse(input);
  const issues = [...unknownKeys(configSchema, input), ...(parsed.error?.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issueMessage(issue)}`) ?? [])];
  if (!parsed.success || issues.length > 0) throw new ConfigError(issues);
  const config = parsed.data;
  // The parser's own form (lower-case scheme and host, punycode, no default port): every "is it https"
  // check and every URL built on it (issuer, entityID, cookies' __Host- prefix, HSTS) reads it alike.
  const publicUrl = new URL(config.server.publicUrl ?? `http://localhost:${config.server.port}`).origin;
  return deepFreeze({ ...config, server: { ...config.server, publicUrl } });
}

/** The settings the environment can give, each with its variable. */
const ENV_KEYS: ReadonlyArray<readonly [variable: string, key: string]> = [
  ['PORT', 'server.port'],
  ['HOST', 'server.host'],
  ['PUBLIC_URL', 'server.publicUrl'],
  ['STEPGATE_DATA_DIR', 'dataDir'],
  ['LOG_LEVEL', 'log.level'],
];

/**
 * Set but empty is kept, so the schema refuses it, naming the variable: taken for unset, an empty
 * STEPGATE_DATA_DIR started on a fresh data directory with a new key, an empty PUBLIC_URL changed the
 * issuer, and the file's value (or the default) applied unseen. The secret key's variables are named
 * by secret-key.ts.
 */
function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [variable, key] of ENV_KEYS) {
    const value = env[variable];
    if (value === undefined) continue;
    // Only digits are a number: Number('') and Number(' ') are 0 (a random port, and an issuer URL ending in :0).
    setPath(out, key, variable === 'PORT' && /^\d+$/.test(value) ? Number(value) : value);
  }
  if (env.STEPGATE_SECRET_KEY !== undefined) out.secretKey = env.STEPGATE_SECRET_KEY;
  if (env.STEPGATE_SECRET_KEY_FILE !== undefined) out.secretKeyFile = env.STEPGATE_SECRET_KEY_FILE;
  return out;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const [head, ...rest] = path.split('.') as [string, ...string[]];
  if (rest.length === 0) target[head] = value;
  else setPath((target[head] ??= {}) as Record<string, unknown>, rest.join('.'), value);
}

/** A refused value that came from the environment names its variable too: the file may not even set the key. */
function withEnvNames<T>(env: NodeJS.ProcessEnv, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const fromEnv = ENV_KEYS.filter(([variable]) => env[variable] !== undefined);
    throw new ConfigError(
      error.issues.map((issue) => {
        const named = fromEnv.find(([, key]) => issue.startsWith(`${key}: `));
        return named ? `${named[1]} (${named[0]}): ${issue.slice(named[1].length + 2)}` : issue;
      }),
    );
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? deepMerge(out[key] as Record<string, unknown>, value) : value;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
