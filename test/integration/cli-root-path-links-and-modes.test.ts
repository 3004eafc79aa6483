import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, chown, lchown, mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { asRootOnly, cliWith, SERVICE_GID, SERVICE_UID, serviceUser, withRootDir } from '../helpers/root-cli.ts';

/**
 * The CLI run as root on paths someone else could change, in the layouts
 * cli-root-path-others-can-change leaves out: a relative link root made, a link another user made in
 * root's data directory, a data directory every user may write with the sticky bit, the configuration
 * file in another user's directory, a file the server made left to another user, a link that
 * leads back to itself, a relative data directory given through a link and `..`; and what the
 * refusal advises, and a configuration file that names neither path.
 */
const withDir = withRootDir;
const cli = cliWith;

async function serviceUsersDirectory(dir: string): Promise<string> {
  const home = join(dir, 'srv');
  await mkdir(home);
  await chown(home, SERVICE_UID, SERVICE_GID);
  return home;
}

test('a relative symbolic link root made is followed from the directory that holds it: one leading into another user\'s directory is refused', asRootOnly, () =>
  withDir(async (dir) => {
    const serviceHome = await serviceUsersDirectory(dir);
    const target = join(serviceHome, 'data');
    await mkdir(target, { mode: 0o700 });
    const link = join(dir, 'data');
    await symlink('srv/data', link);
    const run = await cli({ STEPGATE_DATA_DIR: link }, ['user', 'list']);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^Error: ${serviceHome}, on the way to the data directory ${link}, can be changed by ${serviceUser}`, 'm'));
    assert.deepEqual(await readdir(target), []);
  }));

test('a server file that is another user\'s symbolic link, in a data directory root owns and only root may change, is refused: that user chose where it leads', asRootOnly, () =>
  withDir(async (dir) => {
    const etc = join(dir, 'etc');
    await mkdir(etc, { mode: 0o755 });
    const target = join(etc, 'cron-job');
    await writeFile(target, '');
    const dataDir = join(dir, 'data');
    await mkdir(dataDir, { mode: 0o700 });
    // Left by that user from when the directory was theirs (chown without -R).
    const link = join(dataDir, 'audit.log');
    await symlink(target, link);
    await lchown(link, SERVICE_UID, SERVICE_GID);
    const run = await cli({ STEPGATE_DATA_DIR: dataDir }, ['user', 'add', 'rootmade']);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^Error: ${link}, a symbolic link on the way to ${link}, belongs to ${serviceUser}, and this command runs as root: that user chooses where it leads`, 'm'));
    assert.equal((await stat(target)).size, 0, 'nothing written where the link leads');
    assert.deepEqual(await readdir(dataDir), ['audit.log']);
  }));

test('a data directory of root\'s that every user may write is refused with the sticky bit too: anyone may make kv.journal in it first, as a link', asRootOnly, () =>
  withDir(async (dir) => {
    const dataDir = join(dir, 'data');
    await mkdir(dataDir);
    await chmod(dataDir, 0o1777);
    const run = await cli({ STEPGATE_DATA_DIR: dataDir }, ['user', 'list']);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^Error: the data directory ${dataDir} can be changed by every user \\(mode 1777\\)`, 'm'));
    assert.deepEqual(await readdir(dataDir), []);
  }));

test('a configuration file of root\'s naming the data directory, in a directory another user owns, is refused: that user could put their own file in its place', asRootOnly, () =>
  withDir(async (dir) => {
    const serviceHome = await serviceUsersDirectory(dir);
    const dataDir = join(dir, 'data');
    const configFile = join(serviceHome, 'stepgate.config.json');
    await writeFile(configFile, JSON.stringify({ dataDir }), { mode: 0o644 });
    const run = await cli({ STEPGATE_CONFIG: configFile }, ['user', 'list'], dir);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^Error: ${serviceHome}, on the way to the configuration file ${configFile}, can be changed by ${serviceUser}, .*root's command would then take the data directory from a file of their own`, 'm'));
    await assert.rejects(stat(dataDir), { code: 'ENOENT' });
  }));

test('a kv.journal.rejected that another user owns is that user\'s data directory: refused as root, as for kv.journal', asRootOnly, () =>
  withDir(async (dir) => {
    const dataDir = join(dir, 'data');
    await mkdir(dataDir, { mode: 0o700 });
    const rejected = join(dataDir, 'kv.journal.rejected');
    await writeFile(rejected, '');
    await chown(rejected, SERVICE_UID, SERVICE_GID);
    const run = await cli({ STEPGATE_DATA_DIR: dataDir }, ['user', 'add', 'rootmade']);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^Error: ${rejected} belongs to ${serviceUser}, and this command runs as root`, 'm'));
    assert.deepEqual(await readdir(dataDir), ['kv.journal.rejected']);
  }));

test('a data directory that is a link leading back to itself ends the command with an error: the check gives up as the system does', asRootOnly, () =>
  withDir(async (dir) => {
    const dataDir = join(dir, 'data');
    await symlink(dataDir, dataDir);
    const run = await cli({ STEPGATE_DATA_DIR: dataDir }, ['user', 'list']);
    assert.notEqual(run.code, 0, run.output);
    assert.match(run.output, /ELOOP|symbolic links/i);
  }));

test('a relative data directory given through a link and `..` is read from the working directory as text, as the store reads it: beside the link', asRootOnly, () =>
  withDir(async (dir) => {
    const serviceHome = await serviceUsersDirectory(dir);
    await mkdir(join(serviceHome, 'x'));
    await mkdir(join(dir, 'root-only'));
    await symlink(join(serviceHome, 'x'), join(dir, 'root-only', 'link'));
    const run = await cli({ STEPGATE_DATA_DIR: 'root-only/link/../data' }, ['user', 'list'], dir);
    assert.equal(run.code, 0, run.output);
    assert.ok((await readdir(join(dir, 'root-only', 'data'))).includes('db.json'));
    assert.deepEqual((await readdir(serviceHome)).sort(), ['x']);
  }));

test('a data directory not made yet in a world-writable directory without the sticky bit is not to be made first by root (anyone could rename it): the advice is a path only root can change', asRootOnly, () =>
  withDir(async (dir) => {
    const open = join(dir, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    const dataDir = join(open, 'data');
    const run = await cli({ STEPGATE_DATA_DIR: dataDir }, ['user', 'list']);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^Error: ${dataDir} does not exist yet, and ${open}, where it would be made, lets every user \\(mode 0777\\) add entries`, 'm'));
    assert.doesNotMatch(run.output, /Make it first, as root/);
    assert.match(run.output, /As root, use a path only root can change/);
  }));

test('a configuration file another user owns is read when the environment names both the data directory and the key file: it chooses neither', asRootOnly, () =>
  withDir(async (dir) => {
    const serviceHome = await serviceUsersDirectory(dir);
    const configFile = join(dir, 'stepgate.config.json');
    await writeFile(configFile, JSON.stringify({ dataDir: join(serviceHome, 'elsewhere'), secretKeyFile: join(serviceHome, 'secret.key') }), { mode: 0o644 });
    await chown(configFile, SERVICE_UID, SERVICE_GID);
    const keyFile = join(dir, 'secret.key');
    await writeFile(keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    const dataDir = join(dir, 'data');
    const run = await cli({ STEPGATE_CONFIG: configFile, STEPGATE_DATA_DIR: dataDir, STEPGATE_SECRET_KEY_FILE: keyFile }, ['user', 'list'], dir);
    assert.equal(run.code, 0, run.output);
    assert.deepEqual(await readdir(serviceHome), []);
  }));

