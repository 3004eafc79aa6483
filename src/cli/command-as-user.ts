/** The command this run was typed as, written out to be run as another user with the same settings. */
import { existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/schema.ts';
import { configFilePath } from '../config/load.ts';
import { userName } from './system-accounts.ts';

/** The npm script run and the words given to it: the refusal prints the same run as another user. */
export interface TypedCommand {
  script: 'cli' | 'idp-metadata';
  words: string[];
}

/** The checkout this CLI runs from: `npm --prefix` runs its cli script from whatever directory it is typed in. */
const CHECKOUT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** The other settings load.ts takes from the environment: the pasted command gets this run's configuration. */
const OTHER_SETTINGS = ['PORT', 'HOST', 'PUBLIC_URL', 'LOG_LEVEL'];

// Not `=` first: zsh expands `=name` to the path of the program name (a group or name typed as `=staff`).
export const shellWord = (word: string) => (/^[\w@%+:,./-][\w@%+=:,./-]*$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`);

const onPath = (program: string) => (process.env.PATH ?? '').split(delimiter).some((directory) => directory !== '' && existsSync(join(directory, program)));

/**
 * This very command, run as `uid` with this run's settings, as a line to paste: paths made absolute
 * (npm runs the script in the checkout), the configuration file named even when it was found in the
 * current directory, the words typed. The key itself is never printed: sudo is told to pass
 * STEPGATE_SECRET_KEY on (it drops the environment otherwise). Without sudo, runuser keeps it, as setpriv
 * does for an owner with no account name.
 */
export function commandAs({ uid, gid }: { uid: number; gid: number }, config: Config, typed: TypedCommand): string {
  const env = process.env;
  const name = userName(uid);
  const configFile = configFilePath(env);
  const settings = [
    `STEPGATE_DATA_DIR=${resolve(config.dataDir)}`,
    ...(configFile === undefined ? [] : [`STEPGATE_CONFIG=${resolve(configFile)}`]),
    // From the environment or the file, named in full: npm runs the command in the checkout, where a relative path means another file.
    ...(config.secretKeyFile === undefined ? [] : [`STEPGATE_SECRET_KEY_FILE=${resolve(config.secretKeyFile)}`]),
    ...OTHER_SETTINGS.filter((variable) => env[variable] !== undefined).map((variable) => `${variable}=${env[variable]}`),
  ];
  const as =
    // sudo refuses `-u '#uid'` for a uid without an account (unless sudoers allows unknown ids), and runuser takes names only.
    name === undefined
      ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--']
      : !onPath('sudo')
        ? ['runuser', '-u', name, '--']
        : ['sudo', ...(env.STEPGATE_SECRET_KEY === undefined ? [] : ['--preserve-env=STEPGATE_SECRET_KEY']), '-u', name];
  const line = [...as, 'env', ...settings, 'npm', '--prefix', CHECKOUT, 'run', '-s', typed.script, '--', ...typed.words].map(shellWord).join(' ');
  // A key typed before the command (STEPGATE_SECRET_KEY=… npm run cli …) is gone once it ends: pasted
  // without it, the line would run on no key, and on an empty directory make a new one.
  return env.STEPGATE_SECRET_KEY === undefined ? line : `${line}\n  (with STEPGATE_SECRET_KEY exported in this shell: the line passes it on, and never shows it)`;
}
