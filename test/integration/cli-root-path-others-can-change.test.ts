import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { chmod, chown, lchown, mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitForExit } from '../helpers/child-exit.ts';
import { asRootOnly, cliWith, SERVICE_GID, SERVICE_UID, serviceUser, withRootDir } from '../helpers/root-cli.ts';

/**
 * The CLI run as root on a path someone else could change between its check and the store opening
 * it: whoever may write a directory on the way can put a symbolic link in place of the data directory
 * or of a file in it, and root's command would write and make private (0700) where the link leads.
 * Each layout here is set up as it is, with no one racing: the refusal is decided by the layout alone.
 */
const withDir = withRootDir;
const cli = (dataDir: string, words: string[], env: Record<string, string> = {}) => cliWith({ STEPGATE_DATA_DIR: dataDir, ...env }, words);

/** A directory of root's standing in for /etc: what a link planted on the way would lead to. */
async function standInForEtc(dir: string): Promise<string> {
  const etc = join(dir, 'etc');
  await mkdir(etc, { mode: 0o755 });
  await chmod(etc, 0o755);
  return etc;
}

test('a data directory of root\'s inside a directory another user owns is refused, naming that directory and user: nothing written, its mode kept', asRootOnly, () =>
  withDir(async (dir) => {
    const serviceHome = join(dir, 'srv');
    await mkdir(serviceHome);
    await chown(serviceHome, SERVICE_UID, SERVICE_GID);
    const dataDir = join(serviceHome, 'data');
    await mkdir(dataDir);
    await chmod(dataDir, 0o755);
    const run = await cli(dataDir, ['user', 'add', 'rootmade']);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^Error: ${serviceHome}, on the way to the data directory ${dataDir}, can be changed by ${serviceUser}, and this command runs as root: .*they could put a symbolic link in its place`, 'm'));
    // Still the command to run as that user, once the directory is theirs.
    assert.match(run.output, new RegExp(`give it to them \\(chown -hR \\S+: ${dataDir}\\) and run the command as that user:\\n  (sudo|runuser|setpriv) .* STEPGATE_DATA_DIR=${dataDir} .* user add rootmade$`, 'm'));
    assert.deepEqual(await readdir(dataDir), []);
    assert.equal((await stat(dataDir)).mode & 0o777, 0o755);
  }));

test('a data directory of root\'s that another group may write is refused, naming the group: a link planted there for kv.journal is not followed', asRootOnly, () =>
  withDir(async (dir) => {
    const etc = await standInForEtc(dir);
    const dataDir = join(dir, 'data');
    await mkdir(dataDir);
    await chown(dataDir, 0, SERVICE_GID);
    await chmod(dataDir, 0o770);
    // Planted by a member of the group, before root's command runs: stat follows it to no file at all.
    const planted = join(dataDir, 'kv.journal');
    await symlink(join(etc, 'cron-job'), planted);
    await lchown(planted, SERVICE_UID, SERVICE_GID);
    const run = await cli(dataDir, ['user', 'add', 'rootmade']);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^Error: the data directory ${dataDir} can be changed by the members of group (?:id ${SERVICE_GID}|\\S+ \\(gid ${SERVICE_GID}\\)), or users an access control list names \\(mode 0770, writable by its group\\)`, 'm'));
    assert.deepEqual(await readdir(etc), [], 'nothing made where the link leads');
    assert.deepEqual(await readdir(dataDir), ['kv.journal']);
  }));

test('a directory on the way that a group (root\'s too: its group bits are also the mask of an access control list) or every user may write, without the sticky bit, is refused', asRootOnly, () =>
  withDir(async (dir) => {
    const changers = { 0o775: 'the members of group (?:id 0|\\S+ \\(gid 0\\)), or users an access control list names \\(mode 0775, writable by its group\\)', 0o777: 'every user \\(mode 0777\\)' };
    for (const [mode, changer] of Object.entries(changers)) {
      const open = join(dir, `open-${mode}`);
      await mkdir(open);
      await chmod(open, Number(mode));
      const dataDir = join(open, 'data');
      await mkdir(dataDir, { mode: 0o700 });
      const run = await cli(dataDir, ['user', 'list']);
      assert.equal(run.code, 1, run.output);
      assert.match(run.output, new RegExp(`^Error: ${open}, on the way to the data directory ${dataDir}, can be changed by ${changer}`, 'm'));
      assert.deepEqual(await readdir(dataDir), []);
    }
  }));

test('a data directory root made in a world-writable directory with the sticky bit (as /tmp) is used; a missing one is refused until root makes it as told', asRootOnly, () =>
  withDir(async (dir) => {
    const shared = join(dir, 'tmp');
    await mkdir(shared);
    await chmod(shared, 0o1777);
    const made = join(shared, 'made');
    await mkdir(made, { mode: 0o700 });
    const used = await cli(made, ['user', 'list']);
    assert.equal(used.code, 0, used.output);

    // Not made yet, anyone could make it first: as a link to the directory of their choice.
    const missing = join(shared, 'missing');
    const refused = await cli(missing, ['user', 'list']);
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, new RegExp(`^Error: ${missing} does not exist yet, and ${shared}, where it would be made, lets every user \\(mode 1777\\) add entries`, 'm'));
    const advice = /Make it first, as root \(nobody else may then replace it\): (install -d -m 0700 \S+)$/m.exec(refused.output);
    assert.ok(advice, refused.output);
    assert.deepEqual(await readdir(shared), ['made'], 'nothing made');
    const install = spawn('sh', ['-c', advice[1]!], { stdio: 'ignore' });
    assert.equal(await waitForExit(install, { what: advice[1]! }), 0);
    const after = await cli(missing, ['user', 'list']);
    assert.equal(after.code, 0, after.output);
  }));

test('a key file another user owns in a world-writable directory with the sticky bit is refused: its owner may rename it and put a link in its place', asRootOnly, () =>
  withDir(async (dir) => {
    const shared = join(dir, 'tmp');
    await mkdir(shared);
    await chmod(shared, 0o1777);
    const keyFile = join(shared, 'secret.key');
    await writeFile(keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o644 });
    await chown(keyFile, SERVICE_UID, SERVICE_GID);
    const run = await cli(join(dir, 'data'), ['user', 'list'], { STEPGATE_SECRET_KEY_FILE: keyFile });
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^Error: ${shared}, on the way to the secret key file ${keyFile}, can be changed by ${serviceUser}, .* they could put a symbolic link in its place`, 'm'));
    assert.equal((await stat(keyFile)).mode & 0o777, 0o644, 'not made private by root');
  }));

test('a symbolic link root made is judged by every directory it leads through: one leading into another user\'s directory is refused', asRootOnly, () =>
  withDir(async (dir) => {
    const serviceHome = join(dir, 'srv');
    await mkdir(serviceHome);
    await chown(serviceHome, SERVICE_UID, SERVICE_GID);
    const target = join(serviceHome, 'data');
    await mkdir(target, { mode: 0o700 });
    const link = join(dir, 'data');
    await symlink(target, link);
    const run = await cli(link, ['user', 'list']);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^Error: ${serviceHome}, on the way to the data directory ${link}, can be changed by ${serviceUser}`, 'm'));
    assert.deepEqual(await readdir(target), []);
  }));

test('a server file root linked into a directory another user owns (audit.log kept elsewhere) is refused: that user could swap what it leads to', asRootOnly, () =>
  withDir(async (dir) => {
    const logs = join(dir, 'logs');
    await mkdir(logs);
    await chown(logs, SERVICE_UID, SERVICE_GID);
    const dataDir = join(dir, 'data');
    await mkdir(dataDir, { mode: 0o700 });
    const log = join(logs, 'audit.log');
    await writeFile(log, '');
    await symlink(log, join(dataDir, 'audit.log'));
    const run = await cli(dataDir, ['user', 'add', 'rootmade']);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^Error: ${logs}, on the way to ${join(dataDir, 'audit.log')}, can be changed by ${serviceUser}`, 'm'));
    assert.equal((await stat(log)).size, 0, 'nothing written where the link leads');
    assert.deepEqual(await readdir(dataDir), ['audit.log']);
  }));

test('a server file root linked to a path not made yet in another user\'s directory is refused: that user could make it first', asRootOnly, () =>
  withDir(async (dir) => {
    const logs = join(dir, 'logs');
    await mkdir(logs);
    await chown(logs, SERVICE_UID, SERVICE_GID);
    const dataDir = join(dir, 'data');
    await mkdir(dataDir, { mode: 0o700 });
    const log = join(logs, 'audit.log');
    await symlink(log, join(dataDir, 'audit.log'));
    const run = await cli(dataDir, ['user', 'add', 'rootmade']);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^Error: ${log}, where ${join(dataDir, 'audit.log')} leads, does not exist yet, and ${logs}, where it would be made, lets ${serviceUser} add entries`, 'm'));
    assert.deepEqual(await readdir(logs), []);
  }));

test('the secret key file is refused in a directory another user owns (root\'s command makes an open key file private), and used in root\'s directory that lets the service\'s group read it', asRootOnly, () =>
  withDir(async (dir) => {
    const key = randomBytes(32).toString('base64') + '\n';
    const serviceHome = join(dir, 'srv');
    await mkdir(serviceHome);
    await chown(serviceHome, SERVICE_UID, SERVICE_GID);
    const theirs = join(serviceHome, 'secret.key');
    await writeFile(theirs, key, { mode: 0o644 });
    const dataDir = join(dir, 'data');
    const refused = await cli(dataDir, ['user', 'list'], { STEPGATE_SECRET_KEY_FILE: theirs });
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, new RegExp(`^Error: ${serviceHome}, on the way to the secret key file ${theirs}, can be changed by ${serviceUser}`, 'm'));
    assert.equal((await stat(theirs)).mode & 0o777, 0o644, 'not made private by root');
    await assert.rejects(stat(dataDir), { code: 'ENOENT' });

    // The layout "Running as a service" gives /etc/stepgate: root's, 0750, the service's group; the key the service user's, 0400.
    const etcStepgate = join(dir, 'etc-stepgate');
    await mkdir(etcStepgate);
    await chown(etcStepgate, 0, SERVICE_GID);
    await chmod(etcStepgate, 0o750);
    const installed = join(etcStepgate, 'secret.key');
    await writeFile(installed, key, { mode: 0o400 });
    await chown(installed, SERVICE_UID, SERVICE_GID);
    const used = await cli(dataDir, ['user', 'list'], { STEPGATE_SECRET_KEY_FILE: installed });
    assert.equal(used.code, 0, used.output);
  }));

test('a configuration file another user owns, naming the data directory, is refused: that user would choose where root writes; with the directory given by STEPGATE_DATA_DIR it is read', asRootOnly, () =>
  withDir(async (dir) => {
    const etc = await standInForEtc(dir);
    const etcStepgate = join(dir, 'etc-stepgate');
    await mkdir(etcStepgate);
    await chown(etcStepgate, 0, SERVICE_GID);
    await chmod(etcStepgate, 0o750);
    // As "Running as a service" installs it (the service user's, 0600), then edited by that user.
    const configFile = join(etcStepgate, 'stepgate.config.json');
    await writeFile(configFile, JSON.stringify({ dataDir: etc }), { mode: 0o600 });
    await chown(configFile, SERVICE_UID, SERVICE_GID);
    const run = (env: Record<string, string>) => cliWith({ STEPGATE_CONFIG: configFile, ...env }, ['user', 'list'], dir);

    const refused = await run({});
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, new RegExp(`^Error: ${configFile}, which names the data directory for this command, belongs to ${serviceUser}, and this command runs as root`, 'm'));
    assert.match(refused.output, new RegExp(`^  (sudo|runuser) .* env STEPGATE_DATA_DIR=${etc} STEPGATE_CONFIG=${configFile} `, 'm'));
    assert.deepEqual(await readdir(etc), []);
    assert.equal((await stat(etc)).mode & 0o777, 0o755);

    const dataDir = join(dir, 'data');
    const given = await run({ STEPGATE_DATA_DIR: dataDir });
    assert.equal(given.code, 0, given.output);
    assert.deepEqual(await readdir(etc), []);
  }));

test('a data directory given through a link and `..` is the one the store and its lock use, read as text: root\'s, beside the link, not in the link target\'s parent', asRootOnly, () =>
  withDir(async (dir) => {
    const serviceHome = join(dir, 'srv');
    await mkdir(serviceHome);
    await chown(serviceHome, SERVICE_UID, SERVICE_GID);
    await mkdir(join(serviceHome, 'x'));
    await mkdir(join(dir, 'root-only'));
    await symlink(join(serviceHome, 'x'), join(dir, 'root-only', 'link'));
    // Read by the system, root-only/link/.. is srv; read as text, as the store reads it, root-only.
    const run = await cli(`${dir}/root-only/link/../data`, ['user', 'list']);
    assert.equal(run.code, 0, run.output);
    assert.ok((await readdir(join(dir, 'root-only', 'data'))).includes('db.json'), 'the store wrote beside the link');
    assert.deepEqual(await readdir(serviceHome), ['x'], 'nothing in the service user\'s directory');
  }));
