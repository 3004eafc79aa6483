import { lstatSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DataDirectoryError } from '../store/data-directory-error.ts';
import type { Config } from '../config/schema.ts';
import { configFilePath } from '../config/load.ts';
import { commandAs, shellWord, type TypedCommand } from './command-as-user.ts';
import { describeUser, groupName, userName } from './system-accounts.ts';

/** The files in the data directory that the server writes, and so owns. */
const SERVER_FILES = ['db.json', 'kv.journal', 'kv.journal.rejected', 'audit.log', 'secret.key', 'server.lock'];

/**
 * Root writes db.json anew (a temporary file renamed over it) as root's own file, 0600, and makes the
 * directory 0700: the server, which runs as the owner of these files, then cannot read them, goes
 * unready and does not start again. So as root, a directory another user owns is that user's to
 * change, not root's; and so is a directory root owns that lets the server in by its group (0770),
 * whose files the server made and owns; and so is one not made yet where another user's directory
 * would hold it (/srv/stepgate/data under the service user's /srv/stepgate). Last, a path of root's
 * that someone else could still change before the store opens it is refused too (refuseOpenPath).
 */
export function refuseRootOnAnotherUsersDirectory(config: Config, typed: TypedCommand): void {
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
  if (ownerOf(dataDir) === undefined) {
    const parent = nearestExisting(dirname(dataDir));
    if (parent.owner.uid !== 0) {
      throw new DataDirectoryError(
        `${dataDir} does not exist yet, and ${parent.path}, where it would be made, belongs to ${describeUser(parent.owner.uid)}, and this command runs as root: it would make the data directory as root's, which the server, running as that user, could not use. ${asThem}\n  ${commandAs(parent.owner, config, typed)}`,
      );
    }
  }
  refuseAnotherUsersConfigFile(config, typed);
  refuseOpenPath(config, typed);
}

/**
 * Root's files, and every directory above them root's too, may still be changed by someone else
 * between this check and the store opening them: whoever may write a directory on the way can put a
 * symbolic link in place of what it holds (the data directory itself, or kv.journal), and root's
 * command then writes, creates and makes private (0700, 0600) where that link leads: /etc, say. So,
 * as sshd's StrictModes and sudo require of the files they trust, every directory from / down to the
 * data directory must be one only root can change, as must the directories any root-made link on the
 * way leads through; and so must the paths to the key file, which root's command makes private when
 * it is open to others, and to the configuration file when it names either. Then nobody but root can
 * change the path between the check and its use.
 */
function refuseOpenPath(config: Config, typed: TypedCommand): void {
  const dataDir = resolve(config.dataDir);
  const writes = "root's command would then create, write or make private (0700, 0600) whatever that link leads to (in /etc, say)";
  // As the store and the lock read it (resolved as text: `link/..` is the directory holding the link).
  const checked = [
    { path: dataDir, target: `the data directory ${dataDir}`, then: writes },
    ...SERVER_FILES.map((name) => join(dataDir, name))
      .filter((path) => entryAt(path) !== undefined)
      .map((path) => ({ path, target: path, then: writes })),
    ...(config.secretKeyFile === undefined ? [] : [{ path: resolve(config.secretKeyFile), target: `the secret key file ${resolve(config.secretKeyFile)}`, then: writes }]),
  ];
  const settings = configFileNamingPaths(config);
  if (settings !== undefined) {
    checked.unshift({ path: settings.path, target: `the configuration file ${settings.path}`, then: `root's command would then take ${settings.names} from a file of their own (a dataDir of /etc has it make /etc 0700 and write its files there)` });
  }
  for (const { path, target, then } of checked) {
    const opening = openingOnTheWay(path);
    if (opening === undefined) continue;
    const { changer } = opening;
    const who = describeChanger(changer);
    const how =
      opening.link !== undefined
        ? `${opening.link}, a symbolic link on the way to ${target}, belongs to ${who}, and this command runs as root: that user chooses where it leads`
        : opening.missing !== undefined
          ? `${opening.missing}${opening.missing === path ? '' : `, where ${target} leads,`} does not exist yet, and ${opening.directory}, where it would be made, lets ${who} add entries, and this command runs as root: before it makes ${opening.missing}, they could make it themselves, as a symbolic link`
          : opening.next === undefined
            ? `${target} can be changed by ${who}, and this command runs as root: between this check and the moment it opens the files in it, they could put a symbolic link in place of one of them (kv.journal, say)`
            : `${opening.directory}, on the way to ${target}, can be changed by ${who}, and this command runs as root: between this check and the moment it opens ${opening.next}, they could put a symbolic link in its place`;
    const instead =
      opening.missing !== undefined && opening.sticky
        ? `Make it first, as root (nobody else may then replace it): install -d -m 0700 ${shellWord(opening.missing)}`
        : 'As root, use a path only root can change: every directory from / down to the data directory root\'s and writable by no group nor other users (a world-writable one only with the sticky bit, as /tmp), such as /var/lib/stepgate made with `install -d -m 0700 /var/lib/stepgate`.';
    const asThem =
      'user' in changer
        ? ` If the server runs as ${describeUser(changer.user)}, the data directory should be theirs: give it to them (chown -hR ${shellWord(userName(changer.user) ?? String(changer.user))}: ${shellWord(dataDir)}) and run the command as that user:\n  ${commandAs({ uid: changer.user, gid: changer.gid }, config, typed)}`
        : '';
    throw new DataDirectoryError(`${how}; ${then}. ${instead}${asThem}`);
  }
}

/**
 * The configuration file this command read, when it, not the environment, named the data directory
 * or the key file (STEPGATE_DATA_DIR and STEPGATE_SECRET_KEY_FILE win over the file): `names` says which.
 */
function configFileNamingPaths(config: Config): { path: string; names: string } | undefined {
  const env = process.env;
  const file = configFilePath(env);
  if (file === undefined) return undefined;
  const names = [...(env.STEPGATE_DATA_DIR === undefined ? ['the data directory'] : []), ...(config.secretKeyFile !== undefined && env.STEPGATE_SECRET_KEY_FILE === undefined ? ['the key file'] : [])];
  return names.length === 0 ? undefined : { path: resolve(file), names: names.join(' and ') };
}

/**
 * The configuration file names where root's command writes (dataDir) and which key file it reads and
 * makes private: a file another user owns lets that user choose them, whatever the paths it names.
 */
function refuseAnotherUsersConfigFile(config: Config, typed: TypedCommand): void {
  const settings = configFileNamingPaths(config);
  const owner = settings === undefined ? undefined : ownerOf(settings.path);
  if (settings === undefined || owner === undefined || owner.uid === 0) return;
  throw new DataDirectoryError(
    `${settings.path}, which names ${settings.names} for this command, belongs to ${describeUser(owner.uid)}, and this command runs as root: that user chooses where root's command writes its files and what it makes private (a dataDir of /etc would have it make /etc 0700 and write its files there). Run it as that user; this is the same command, with the same settings:\n  ${commandAs(owner, config, typed)}`,
  );
}

/** Someone besides root who may change the entries of a directory (or, for `link`, the link itself). */
type Changer = { user: number; gid: number } | { group: number; mode: number } | { everyone: true; mode: number };

/**
 * What someone besides root may change on the way to a path: the directory holding `next`, which they
 * could replace; the directory that would hold `missing`, not made yet, which they could make first;
 * the path's own directory (neither), whose files they could replace; or `link`, theirs.
 */
interface Opening {
  directory: string;
  changer: Changer;
  sticky: boolean;
  next?: string;
  missing?: string;
  link?: string;
}

/** Symbolic links followed before giving up, as Linux does (ELOOP, which the store then reports). */
const MAX_LINKS = 40;

/**
 * Follows `path` one name at a time from /, as the kernel does when the store opens it: through each
 * root-made symbolic link to where it leads, so a link is judged by every directory it leads through.
 */
function openingOnTheWay(path: string): Opening | undefined {
  let at = '/';
  let stats = lstatSync(at);
  const names = path.split('/').filter((name) => name !== '' && name !== '.');
  let links = 0;
  while (names.length > 0) {
    const name = names.shift()!;
    if (name === '..') {
      // `at` was reached without a link in its own name, so its parent is the directory it was reached from.
      at = dirname(at);
      stats = lstatSync(at);
      continue;
    }
    const next = join(at, name);
    const entry = entryAt(next);
    if (entry === undefined) {
      // The sticky bit keeps others from renaming what is not theirs (/tmp), not from making a new entry.
      const changer = changerOf(stats, { sticky: false });
      return changer === undefined ? undefined : { directory: at, changer, sticky: isSticky(stats), missing: join(next, ...names) };
    }
    // With the sticky bit, whoever owns the entry may still rename it, and put a link in its place.
    const changer = changerOf(stats, { sticky: true }) ?? (entry.uid !== 0 && changerOf(stats, { sticky: false }) !== undefined ? { user: entry.uid, gid: entry.gid } : undefined);
    if (changer !== undefined) return { directory: at, changer, sticky: isSticky(stats), next };
    if (entry.isSymbolicLink()) {
      if (entry.uid !== 0) return { directory: at, changer: { user: entry.uid, gid: entry.gid }, sticky: isSticky(stats), link: next };
      if (++links > MAX_LINKS) return undefined;
      const target = readlinkSync(next);
      names.unshift(...target.split('/').filter((part) => part !== '' && part !== '.'));
      if (target.startsWith('/')) {
        at = '/';
        stats = lstatSync(at);
      }
      continue;
    }
    // A file: the one named, or one in the way of a path the store then cannot open, and reports.
    if (!entry.isDirectory()) return undefined;
    at = next;
    stats = entry;
  }
  const changer = changerOf(stats, { sticky: false });
  return changer === undefined ? undefined : { directory: at, changer, sticky: isSticky(stats) };
}

const isSticky = (stats: Stats) => (stats.mode & 0o1000) !== 0;

/**
 * Who besides root may change what `directory` holds: its owner (who may also change its mode), its
 * group (root's too: some users may be in it) or everyone when they may write it; with the sticky bit
 * (`sticky`: only what is there now matters), writing lets them add entries but not rename or remove root's.
 */
function changerOf(directory: Stats, { sticky }: { sticky: boolean }): Changer | undefined {
  const mode = directory.mode & 0o7777;
  if (directory.uid !== 0) return { user: directory.uid, gid: directory.gid };
  if (sticky && isSticky(directory)) return undefined;
  if (mode & 0o002) return { everyone: true, mode };
  // Root's group too: the group bits are also the mask of a POSIX ACL, which may let any user write.
  if (mode & 0o020) return { group: directory.gid, mode };
  return undefined;
}

function describeChanger(changer: Changer): string {
  if ('user' in changer) return describeUser(changer.user);
  const mode = `mode ${changer.mode.toString(8).padStart(4, '0')}`;
  if ('group' in changer) {
    const name = groupName(changer.group);
    return `the members of ${name === undefined ? `group id ${changer.group}` : `group ${name} (gid ${changer.group})`}, or users an access control list names (${mode}, writable by its group)`;
  }
  return `every user (${mode})`;
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
