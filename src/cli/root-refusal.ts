import { existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataDirectoryError } from '../store/data-directory-error.ts';
import type { Config } from '../config/schema.ts';

/** The files in the data directory that the server writes, and so owns. */
const SERVER_FILES = ['db.json', 'kv.journal', 'audit.log', 'secret.key', 'server.lock'];

/**
 * Root writes db.json anew (a temporary file renamed over it) as root's own file, 0600, and makes the
 * directory 0700: the server, which runs as the owner of these files, then cannot read them, goes
 * unready and does not start again. So as root, a directory another user owns is that user's to
 * change, not root's; and so is a directory root owns that lets the server in by its group (0770),
 * whose files the server made and owns; and so is one not made yet where another user's directory
 * would hold it (/srv/stepgate/data under the service user's /srv/stepgate).
 */
export function refuseRootOnAnotherUsersDirectory(config: Config, typed: string[]): void {
  if (process.getuid?.() !== 0) return;
  const dataDir = resolve(config.dataDir);
  const owned = [dataDir, ...SERVER_FILES.map((name) => join(dataDir, name))].map((path) => ({ path, owner: ownerOf(path) })).find(({ owner }) => owner !== undefined && owner !== 0);
  const asThem = 'Run it as that user; this is the same command, with the same settings:';
  if (owned !== undefined) {
    throw new DataDirectoryError(
      `${owned.path} belongs to ${describeUser(owned.owner!)}, and this command runs as root: the files it writes would be root's, and the server, running as that user, could no longer read them. ${asThem}\n  ${commandAs(owned.owner!, config, typed)}`,
    );
  }
  if (ownerOf(dataDir) !== undefined) return; // root's, as are the files made so far: this command makes the rest, as root's
  const parent = nearestExisting(dirname(dataDir));
  if (parent.owner === 0) return;
  throw new DataDirectoryError(
    `${dataDir} does not exist yet, and ${parent.path}, where it would be made, belongs to ${describeUser(parent.owner)}, and this command runs as root: it would make the data directory as root's, which the server, running as that user, could not use. ${asThem}\n  ${commandAs(parent.owner, config, typed)}`,
  );
}

function ownerOf(path: string): number | undefined {
  try {
    return statSync(path).uid;
  } catch {
    return undefined;
  }
}

function nearestExisting(path: string): { path: string; owner: number } {
  const owner = ownerOf(path);
  if (owner !== undefined) return { path, owner };
  const parent = dirname(path);
  // The root directory always exists; a path that cannot be stat'ed up to it is left to the store to report.
  return parent === path ? { path, owner: 0 } : nearestExisting(parent);
}

/** The account's name from /etc/passwd, when it has one (a uid given by a volume or a container may have none). */
function userName(uid: number): string | undefined {
  try {
    return readFileSync('/etc/passwd', 'utf8').split('\n').map((line) => line.split(':')).find((fields) => fields[2] === String(uid))?.[0];
  } catch {
    return undefined;
  }
}

function describeUser(uid: number): string {
  const name = userName(uid);
  return name === undefined ? `user id ${uid}` : `user ${name} (uid ${uid})`;
}

/** The checkout this CLI runs from: `npm --prefix` runs its cli script from whatever directory it is typed in. */
const CHECKOUT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** The other settings load.ts takes from the environment: the pasted command gets this run's configuration. */
const OTHER_SETTINGS = ['PORT', 'HOST', 'PUBLIC_URL', 'LOG_LEVEL'];

const shellWord = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`);

const onPath = (program: string) => (process.env.PATH ?? '').split(delimiter).some((directory) => directory !== '' && existsSync(join(directory, program)));

/**
 * This very command, run as `uid` with this run's settings, as a line to paste: paths made absolute
 * (npm runs the script in the checkout), the configuration file named even when it was found in the
 * current directory, the words typed. The key itself is never printed: sudo is told to pass
 * STEPGATE_SECRET_KEY on (it drops the environment otherwise). Without sudo, runuser keeps it.
 */
function commandAs(uid: number, config: Config, typed: string[]): string {
  const env = process.env;
  const name = userName(uid);
  const configFile = env.STEPGATE_CONFIG ?? (existsSync('stepgate.config.json') ? 'stepgate.config.json' : undefined);
  const settings = [
    `STEPGATE_DATA_DIR=${resolve(config.dataDir)}`,
    ...(configFile === undefined ? [] : [`STEPGATE_CONFIG=${resolve(configFile)}`]),
    // From the environment or the file, named in full: npm runs the command in the checkout, where a relative path means another file.
    ...(config.secretKeyFile === undefined ? [] : [`STEPGATE_SECRET_KEY_FILE=${resolve(config.secretKeyFile)}`]),
    ...OTHER_SETTINGS.filter((variable) => env[variable] !== undefined).map((variable) => `${variable}=${env[variable]}`),
  ];
  const as =
    name !== undefined && !onPath('sudo')
      ? ['runuser', '-u', name, '--']
      : ['sudo', ...(env.STEPGATE_SECRET_KEY === undefined ? [] : ['--preserve-env=STEPGATE_SECRET_KEY']), '-u', name ?? `#${uid}`];
  return [...as, 'env', ...settings, 'npm', '--prefix', CHECKOUT, 'run', '-s', 'cli', '--', ...typed].map(shellWord).join(' ');
}
