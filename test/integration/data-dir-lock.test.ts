import { withoutSecretKey } from '../helpers/env.ts';
import { freePort } from '../../scripts/free-port.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { maxConnections } from '../../src/http/http-server.ts';
import { DataDirectoryError } from '../../src/store/data-directory-error.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { systemClock } from '../../src/core/clock.ts';
import { captureOutput, hasExited, stopChild, waitForExit } from '../helpers/child-exit.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const CLI = new URL('../../src/cli/index.ts', import.meta.url).pathname;

/** Each server here uses its data directory's own key (secret.key). */
const INHERITED = withoutSecretKey();


interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * `npm start`'s command as its own process (stopped by each test, by its pid); with `descriptorLimit`,
 * under `ulimit -n` (the shell execs Node, so the pid is the server's).
 */
function launch(dataDir: string, port: number, options: SpawnOptions & { descriptorLimit?: number } = {}): Run {
  const { descriptorLimit, ...spawnOptions } = options;
  const command = ['--disable-warning=ExperimentalWarning', MAIN];
  const [file, args] = descriptorLimit === undefined ? [process.execPath, command] : ['sh', ['-c', `ulimit -n ${descriptorLimit} && exec "$0" "$@"`, process.execPath, ...command]];
  const child = spawn(file, args, {
    env: { ...INHERITED, STEPGATE_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...spawnOptions,
  });
  const output = captureOutput(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, output, exited };
}

/** Resolves once the banner is out; rejects when the process ends first. */
async function started(run: Run): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!/OIDC discovery[\s\S]*(bootstrap|Directory:)/.test(run.output())) {
    if (hasExited(run.child)) throw new Error(`exited with ${(await waitForExit(run.child)) ?? run.child.signalCode}:\n${run.output()}`);
    if (Date.now() > deadline) throw new Error(`no banner within 30 s:\n${run.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGTERM by its pid (unless it has ended), then its exit code; a server that does not stop within 30 s is killed and fails the test with its output. */
async function stop(run: Run): Promise<number | null> {
  return stopChild(run.child, { what: 'the server (SIGTERM)', output: run.output });
}

async function cli(dataDir: string, words: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CLI, ...words], { env: { ...INHERITED, STEPGATE_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  const code = await waitForExit(child, { what: `cli ${words.join(' ')}`, output });
  return { code, output: output() };
}

const exists = (path: string) => stat(path).then(() => true, () => false);

test('a server whose lock is removed or replaced while it runs stops (exit 1), and leaves the new lock alone', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-lock-'));
  const lock = join(dataDir, 'server.lock');
  const run = launch(dataDir, await freePort());
  try {
    await started(run);
    // What a second server that took the lock over would have written.
    await writeFile(lock, `${process.pid} another-server.x`);
    // It checks every 5 s; the bound only keeps a server that never stops from holding the test.
    // (waitForExit: once it has exited, its last lines are read to the end before they are checked)
    const exitCode = await Promise.race([run.exited.then(() => waitForExit(run.child)), sleep(30_000, 'still running', { ref: false })]);
    assert.equal(exitCode, 1, run.output());
    assert.match(run.output(), /server\.lock-lost/);
    assert.equal(await readFile(lock, 'utf8'), `${process.pid} another-server.x`, 'the other lock stays');
  } finally {
    await stop(run);
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('idle connections up to and beyond the descriptor limit do not stop the server: the ones over its connection cap are closed, the lock check goes on', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-lock-'));
  const port = await freePort();
  const run = launch(dataDir, port, { descriptorLimit: 256 });
  const sockets: Socket[] = [];
  try {
    await started(run);
    // Plain TCP connects that send nothing, as the flood did; more than the server has descriptors.
    for (let i = 0; i < 400; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      sockets.push(socket);
    }
    let closedByServer = 0;
    for (const socket of sockets) socket.once('close', () => (closedByServer += 1));
    await Promise.all(sockets.map((socket) => new Promise((resolve) => socket.once('connect', resolve).once('close', resolve))));
    // Two lock checks (every 5 s) while the connections are held; the request timeout (30 s) closes none of them meanwhile.
    await sleep(11_000);
    assert.equal(run.child.exitCode, null, run.output());
    assert.doesNotMatch(run.output(), /server\.lock-lost/);
    assert.ok(closedByServer >= sockets.length - maxConnections(256), `${closedByServer} connections closed by the server`);
    for (const socket of sockets) socket.destroy();
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
  } finally {
    for (const socket of sockets) socket.destroy();
    assert.equal(await stop(run), 0, run.output());
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a second server on the same data directory stops at start, naming the directory and the first one; the CLI still works beside it; a clean stop removes the lock', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-lock-'));
  const lock = join(dataDir, 'server.lock');
  const first = launch(dataDir, await freePort());
  try {
    await started(first);
    const second = launch(dataDir, await freePort());
    let code: number | null;
    try {
      const outcome = await Promise.race([second.exited, started(second).then(() => 'started' as const)]);
      if (outcome === 'started') assert.fail(`a second server started on ${dataDir}:\n${second.output()}`);
      code = outcome;
    } finally {
      await stop(second);
    }
    assert.equal(code, 1, second.output());
    assert.equal(
      second.output().split('\n')[0],
      `Stepgate failed to start: dataDir: ${dataDir} is in use by another Stepgate server (pid ${first.child.pid}, holding ${lock}). ` +
        `Run one server per data directory: stop that one first, or give this one another dataDir (STEPGATE_DATA_DIR). If that process is not a Stepgate server (its pid reused after a reboot), delete ${lock}.`,
    );
    assert.doesNotMatch(second.output(), /^\s+at /m, 'no stack');
    assert.equal((await readFile(lock, 'utf8')).split(' ')[0], String(first.child.pid), 'the lock holds the first server pid: the refused one left it alone');

    const listed = await cli(dataDir, ['user', 'add', 'beside', '--email', 'beside@example.org']);
    assert.equal(listed.code, 0, `the admin CLI is a guest writer, not a second server: ${listed.output}`);
    assert.equal(first.child.exitCode, null, 'the first server still runs');
  } finally {
    assert.equal(await stop(first), 0);
  }
  try {
    assert.equal(await exists(lock), false, 'SIGTERM removed the lock');
    const next = launch(dataDir, await freePort());
    try {
      await started(next);
    } finally {
      await stop(next);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a lock left by a server that died (kill -9) is taken over at the next start', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-lock-'));
  const lock = join(dataDir, 'server.lock');
  const crashed = launch(dataDir, await freePort());
  try {
    await started(crashed);
    process.kill(crashed.child.pid!, 'SIGKILL');
    await waitForExit(crashed.child, { timeoutMs: 30_000, what: 'the server (SIGKILL)', output: crashed.output });
    assert.equal(await exists(lock), true, 'kill -9 leaves the lock file behind');
    const next = launch(dataDir, await freePort());
    try {
      await started(next);
      assert.equal((await readFile(lock, 'utf8')).split(' ')[0], String(next.child.pid));
    } finally {
      assert.equal(await stop(next), 0);
    }
  } finally {
    await stop(crashed);
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a data directory Stepgate may not write in stops start-up naming dataDir and the path, without a stack', async () => {
  const root = await mkdtemp(join(tmpdir(), 'stepgate-perm-'));
  try {
    const asRoot = process.getuid?.() === 0;
    // Root writes anywhere: as root the server is run as nobody, in a directory root owns (a volume made by someone else).
    await chmod(root, 0o755);
    const dataDir = join(root, 'data');
    await mkdir(dataDir, { mode: 0o755 });
    if (!asRoot) await chmod(dataDir, 0o555);
    await writeFile(join(dataDir, 'README'), 'not Stepgate\'s\n');
    const run = launch(dataDir, await freePort(), asRoot ? { uid: 65534, gid: 65534, cwd: tmpdir() } : {});
    // A server that started anyway would run on: killed after the deadline, and the test fails with its output.
    const code = await waitForExit(run.child, { what: 'the server on a data directory it may not write in', output: run.output });
    assert.equal(code, 1, run.output());
    assert.match(run.output(), new RegExp(`^Stepgate failed to start: dataDir: ${dataDir} cannot be used \\(Stepgate runs as uid \\d+, which must be able to create files in it\\): EACCES`, 'm'));
    assert.doesNotMatch(run.output(), /^\s+at /m, 'no stack');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('the CLI run as root leaves a data directory another user owns untouched, and names the user to run it as', { skip: process.getuid?.() !== 0 && 'only root can give a directory to another user' }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-owner-'));
  try {
    await chown(dataDir, 65534, 65534);
    for (const words of [['user', 'add', 'rootmade'], ['user', 'list'], ['keys', 'list']]) {
      const run = await cli(dataDir, words);
      assert.equal(run.code, 1, run.output);
      assert.match(run.output, new RegExp(`^Error: ${dataDir} belongs to user (\\S+ \\(uid 65534\\)|id 65534), and this command runs as root: .*\\n  (sudo|runuser) .* env STEPGATE_DATA_DIR=${dataDir} `, 'm'));
    }
    assert.deepEqual(await readdir(dataDir), [], 'no db.json nor secret.key made as root');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('the CLI run as root leaves alone a directory root owns that the server reaches by its group, whose files the server owns', { skip: process.getuid?.() !== 0 && 'only root can give files to another user' }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-group-'));
  try {
    assert.equal((await cli(dataDir, ['user', 'list'])).code, 0);
    // As a server running as user 65534 in the directory's group has them: its files, root's directory open to the group.
    for (const name of await readdir(dataDir)) await chown(join(dataDir, name), 65534, 65534);
    await chown(dataDir, 0, 65534);
    await chmod(dataDir, 0o770);
    const run = await cli(dataDir, ['user', 'add', 'rootmade']);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^Error: ${join(dataDir, 'db.json')} belongs to user (\\S+ \\(uid 65534\\)|id 65534), and this command runs as root: .*\\n  (sudo|runuser) .* env STEPGATE_DATA_DIR=${dataDir} `, 'm'));
    assert.equal((await stat(join(dataDir, 'db.json'))).uid, 65534);
    assert.equal((await stat(dataDir)).mode & 0o777, 0o770, 'the group keeps its way in');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('the CLI on a data directory it may not read fails without saying it made a new, empty one', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-unreadable-'));
  try {
    const asRoot = process.getuid?.() === 0;
    // Root reads anything: as root the CLI runs as nobody on root's 0700 directory (a restore copied as root).
    await chmod(dataDir, asRoot ? 0o700 : 0o000);
    // A key from outside the directory, as under systemd: the store is the first thing to fail.
    const env = { ...INHERITED, STEPGATE_DATA_DIR: dataDir, STEPGATE_SECRET_KEY: randomBytes(32).toString('base64') };
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CLI, 'user', 'list'], { env, cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'], ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
    const output = captureOutput(child);
    assert.equal(await waitForExit(child, { what: 'cli user list', output }), 1, output());
    assert.match(output(), new RegExp(`^Error: dataDir: ${dataDir} cannot be used .*EACCES`, 'm'));
    assert.doesNotMatch(output(), /had no Stepgate data/);
  } finally {
    await chmod(dataDir, 0o700);
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a store opened outside the server (the CLI, tools) names dataDir and the path too when the directory cannot be made', async () => {
  const root = await mkdtemp(join(tmpdir(), 'stepgate-perm-'));
  try {
    await writeFile(join(root, 'file'), 'a file where the data directory would go\n');
    const dataDir = join(root, 'file', 'data');
    await assert.rejects(
      new LowdbStore(dataDir, systemClock, { sealer: journalSealer(new SecretBox(randomBytes(32))), owner: false }).open(),
      (error: Error) => error instanceof DataDirectoryError && error.message.startsWith(`dataDir: ${dataDir} cannot be used`) && /ENOTDIR/.test(error.message),
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
