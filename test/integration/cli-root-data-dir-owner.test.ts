import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, chown, lchown, mkdir, mkdtemp, readdir, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withoutSecretKey } from '../helpers/env.ts';
import { captureOutput, waitForExit } from '../helpers/child-exit.ts';

/**
 * The CLI run as root on a data directory: whose it is is the directory's owning user, whatever its
 * group and however the path reaches it. A db.json root wrote there would be root's, and the server,
 * running as that user, could no longer read it.
 */
const CLI = new URL('../../src/cli/index.ts', import.meta.url).pathname;
const SERVICE_UID = 65534;
const asRootOnly = { skip: process.getuid?.() !== 0 && 'only root can give a directory to another user' };

async function cli(dataDir: string, words: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CLI, ...words], { env: { ...withoutSecretKey(), STEPGATE_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  const code = await waitForExit(child, { what: `cli ${words.join(' ')}`, output });
  return { code, output: output() };
}

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-owner-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const refusal = (uid: number) => new RegExp(`^Error: .* belongs to user (?:id ${uid}|\\S+ \\(uid ${uid}\\)), and this command runs as root: `, 'm');

test('a directory another user owns in the root group is still that user\'s: refused, nothing written', asRootOnly, () =>
  withDir(async (dataDir) => {
    await chown(dataDir, SERVICE_UID, 0);
    const run = await cli(dataDir, ['user', 'add', 'rootmade']);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, refusal(SERVICE_UID));
    assert.deepEqual(await readdir(dataDir), []);
  }));

test('a directory root owns, in the service\'s group, is root\'s to change', asRootOnly, () =>
  withDir(async (dataDir) => {
    await chown(dataDir, 0, SERVICE_UID);
    const run = await cli(dataDir, ['user', 'list']);
    assert.equal(run.code, 0, run.output);
    assert.doesNotMatch(run.output, /belongs to/);
  }));

test('a data directory reached through a symlink root made is judged by the directory it leads to', asRootOnly, () =>
  withDir(async (dir) => {
    const target = join(dir, 'data');
    await mkdir(target);
    await chown(target, SERVICE_UID, SERVICE_UID);
    const link = join(dir, 'link');
    await symlink(target, link);
    const run = await cli(link, ['user', 'add', 'rootmade']);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, refusal(SERVICE_UID));
    assert.deepEqual(await readdir(target), [], 'no db.json nor secret.key made as root');
  }));

test('a data directory path that is another user\'s symlink to a directory root owns is refused: nothing written there, its mode kept', asRootOnly, () =>
  withDir(async (dir) => {
    const rootOwned = join(dir, 'certs');
    await mkdir(rootOwned);
    await chmod(rootOwned, 0o755);
    const serviceHome = join(dir, 'srv');
    await mkdir(serviceHome);
    await chown(serviceHome, SERVICE_UID, SERVICE_UID);
    const planted = join(serviceHome, 'data');
    await symlink(rootOwned, planted);
    await lchown(planted, SERVICE_UID, SERVICE_UID);
    const run = await cli(planted, ['user', 'list']);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^Error: ${planted} is a symbolic link that belongs to user (?:id ${SERVICE_UID}|\\S+ \\(uid ${SERVICE_UID}\\)), and this command runs as root`, 'm'));
    assert.deepEqual(await readdir(rootOwned), [], 'no db.json nor secret.key made as root');
    assert.equal((await stat(rootOwned)).mode & 0o777, 0o755);
  }));

test('a data directory not made yet is made by root\'s command, as root\'s', asRootOnly, () =>
  withDir(async (dir) => {
    const dataDir = join(dir, 'new');
    const run = await cli(dataDir, ['user', 'list']);
    assert.equal(run.code, 0, run.output);
    assert.ok((await readdir(dataDir)).includes('db.json'), run.output);
  }));
