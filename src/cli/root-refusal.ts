import { existsSync, lstatSync, readFileSync, statSync, type Stats } from 'node:fs';
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
  const asThem = 'Run it as that user; this is the same command, with the same settings:';
  const link = anotherUsersLink(dataDir);
  if (link !== undefined) {
    throw new DataDirectoryError(
      `${link.path} is a symbolic link that belongs to ${describeUser(link.owner.uid)}, and this command runs as root: that user chooses the directory in which it would write root's files and which it would make private (0700). ${asThem}\n  ${commandAs(link.owner, config, typed)}`,
    );
  }
  const owned = [dataDir, ...SERVER_FILES.map((name) => join(dataDir, name))].map((path) => ({ path, owner: ownerOf(path) })).find(({ owner }) => owner !== undefined && owner.uid !== 0);
  if (owned !== undefined) {
    throw new DataDirectoryError(
      `${owned.path} belongs to ${describeUser(owned.owner!.uid)}, and this command runs as root: the files it writes would be root's, and the server, running as that user, could no longer read them. ${asThem}\n  ${commandAs(owned.owner!, config, typed)}`,
    );
  }
  if (ownerOf(dataDir) !== undefined) return; // root's, as are the files made so far: this command makes the rest, as root's
  const parent = nearestExisting(dirname(dataDir));
  if (parent.owner.uid === 0) return;
  throw new DataDirectoryError(
    `${dataDir} does not exist yet, and ${parent.path}, where it would be made, belongs to ${describeUser(parent.owner.uid)}, and this command runs as root: it would make the data directory as root's, which the server, running as that user, could not use. ${asThem}\n  ${commandAs(parent.owner, config, typed)}`,
  );
}

interface Owner {
  uid: number;
  gid: number;
}

function ownerOf(path: string): Owner | undefined {
  try {
    const { uid, gid } = statSync(path);
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/**
 * A symbolic link on the way to the data directory that is not root's: stat follows it to a directory
 * root owns (/etc/ssl/certs, say), which root's command would then make 0700 and write its files in.
 * A link root made is root's choice, and judged by where it leads.
 */
function anotherUsersLink(path: string): { path: string; owner: Owner } | undefined {
  for (let at = path; ; at = dirname(at)) {
    const link = entryAt(at);
    if (link?.isSymbolicLink() && link.uid !== 0) return { path: at, owner: { uid: link.uid, gid: link.gid } };
    if (dirname(at) === at) return undefined;
  }
}

/** The entry itself, a link not followed; undefined for a path not made yet. */
function entryAt(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function nearestExisting(path: string): { path: string; owner: Owner } {
  const owner = ownerOf(path);
  if (owner !== undefined) return { path, owner };
  const parent = dirname(path);
  // The root directory always exists; a path that cannot be stat'ed up to it is left to the store to report.
  return parent === path ? { path, owner: { uid: 0, gid: 0 } } : nearestExisting(parent);
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

// Not `=` first: zsh expands `=name` to the path of the program name (a group or name typed as `=staff`).
const shellWord = (word: string) => (/^[\w@%+:,./-][\w@%+=:,./-]*$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`);

const onPath = (program: string) => (process.env.PATH ?? '').split(delimiter).some((directory) => directory !== '' && existsSync(join(directory, program)));

/**
 * This very command, run as `uid` with this run's settings, as a line to paste: paths made absolute
 * (npm runs the script in the checkout), the configuration file named even when it was found in the
 * current directory, the words typed. The key itself is never printed: sudo is told to pass
 * STEPGATE_SECRET_KEY on (it drops the environment otherwise). Without sudo, runuser keeps it, as setpriv
 * does for an owner with no account name.
 */
function commandAs({ uid, gid }: Owner, config: Config, typed: string[]): string {
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
    // sudo refuses `-u '#uid'` for a uid without an account (unless sudoers allows unknown ids), and runuser takes names only.
    name === undefined
      ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--']
      : !onPath('sudo')
        ? ['runuser', '-u', name, '--']
        : ['sudo', ...(env.STEPGATE_SECRET_KEY === undefined ? [] : ['--preserve-env=STEPGATE_SECRET_KEY']), '-u', name];
  const line = [...as, 'env', ...settings, 'npm', '--prefix', CHECKOUT, 'run', '-s', 'cli', '--', ...typed].map(shellWord).join(' ');
  // A key typed before the command (STEPGATE_SECRET_KEY=… npm run cli …) is gone once it ends: pasted
  // without it, the line would run on no key, and on an empty directory make a new one.
  return env.STEPGATE_SECRET_KEY === undefined ? line : `${line}\n  (with STEPGATE_SECRET_KEY exported in this shell: the line passes it on, and never shows it)`;
}
