import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../scripts/free-port.ts';
import { withoutSecretKey } from '../helpers/env.ts';
import { captureOutput, hasExited, killChild, waitForExit, STOP_TIMEOUT_MS } from '../helpers/child-exit.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const exists = (path: string) => stat(path).then(() => true, () => false);

function startServer(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN], { env: { ...withoutSecretKey(process.env), LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return { child, output: captureOutput(child) };
}

async function until(what: string, done: () => boolean | Promise<boolean>, run: { child: ChildProcess; output: () => string }): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await done())) {
    if (hasExited(run.child)) throw new Error(`the server ended (${run.child.exitCode ?? run.child.signalCode}) before ${what}:\n${run.output()}`);
    if (Date.now() > deadline) throw new Error(`not within 30 s: ${what}:\n${run.output()}`);
    await sleep(50);
  }
}

/**
 * A server held in its start-up's directory check: an LDAP server that accepts connections and
 * never answers. `stop` ends the server, the silent directory and the temporary folder.
 */
async function startingServer(prefix: string): Promise<{ run: { child: ChildProcess; output: () => string }; dataDir: string; stop: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const held: Socket[] = [];
  const silentLdap = createServer((socket) => void held.push(socket));
  await new Promise<void>((resolve) => silentLdap.listen(0, '127.0.0.1', resolve));
  const address = silentLdap.address();
  assert.ok(address && typeof address === 'object');
  const configFile = join(root, 'config.json');
  await writeFile(
    configFile,
    JSON.stringify({
      directory: { kind: 'ldap', urls: [`ldap://127.0.0.1:${address.port}`], connectTimeoutMs: 120_000, searchTimeoutMs: 120_000, healthCheckSeconds: 0, bind: { dn: 'cn=svc,dc=example,dc=org', password: 'x' }, users: { baseDn: 'ou=people,dc=example,dc=org' } },
    }),
    { mode: 0o600 },
  );
  const dataDir = join(root, 'data');
  const run = startServer({ STEPGATE_CONFIG: configFile, STEPGATE_DATA_DIR: dataDir, PORT: String(await freePort()) });
  try {
    await until('it connects to the directory', () => held.length > 0, run);
  } catch (error) {
    await killChild(run.child);
    silentLdap.close();
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  const stop = async () => {
    await killChild(run.child);
    for (const socket of held) socket.destroy();
    silentLdap.close();
    await rm(root, { recursive: true, force: true });
  };
  return { run, dataDir, stop };
}

/** How the server ended: its exit code, or the signal that killed it. */
async function ending(run: { child: ChildProcess; output: () => string }): Promise<number | string | null> {
  const code = await waitForExit(run.child, { timeoutMs: STOP_TIMEOUT_MS, what: 'the server', output: run.output });
  return code ?? run.child.signalCode;
}

test('a SIGTERM while the server is still starting (the directory check under way) stops it cleanly and releases server.lock', async () => {
  const { run, dataDir, stop } = await startingServer('sg-stop-starting-');
  try {
    assert.equal(await exists(join(dataDir, 'server.lock')), true, 'the lock is taken before the directory is checked');
    run.child.kill('SIGTERM');
    assert.equal(await ending(run), 0, run.output());
    assert.equal(await exists(join(dataDir, 'server.lock')), false, `server.lock was left behind:\n${run.output()}`);
    assert.match(run.output(), /"event":"server\.stopped"/);
    assert.doesNotMatch(run.output(), /Stepgate is running|directory start-up check failed/);
  } finally {
    await stop();
  }
});

test("a SIGHUP (logrotate's postrotate) while the server is still starting does not end it", async () => {
  // server.lock, where the README's `kill -HUP` reads the pid, is there from the start.
  const { run, dataDir, stop } = await startingServer('sg-hup-starting-');
  try {
    run.child.kill('SIGHUP');
    await sleep(500);
    assert.equal(hasExited(run.child), false, `SIGHUP ended the starting server (${run.child.signalCode}):\n${run.output()}`);
    run.child.kill('SIGTERM');
    assert.equal(await ending(run), 0, run.output());
    assert.equal(await exists(join(dataDir, 'server.lock')), false, `server.lock was left behind:\n${run.output()}`);
  } finally {
    await stop();
  }
});

test('a SIGHUP before the store is open reopens the audit log once it is (the rotated file is not written on)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sg-hup-before-store-'));
  const run = startServer({ STEPGATE_DATA_DIR: dataDir, PORT: String(await freePort()) });
  try {
    // server.lock is written before the store is opened; a first start then makes its keys.
    await until('server.lock', () => exists(join(dataDir, 'server.lock')), run);
    run.child.kill('SIGHUP');
    await until('the ready lines', () => /OIDC discovery/.test(run.output()), run);
    await until('the reopen', () => /"event":"store\.logs-reopened"/.test(run.output()), run);
    run.child.kill('SIGTERM');
    assert.equal(await ending(run), 0, run.output());
  } finally {
    await killChild(run.child);
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a second SIGTERM during a stop does not cut it short: the stop answers, closes the store and releases server.lock', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sg-stop-twice-'));
  const port = await freePort();
  const run = startServer({ STEPGATE_DATA_DIR: dataDir, PORT: String(port) });
  let request: Socket | undefined;
  try {
    await until('the ready lines', () => /OIDC discovery/.test(run.output()), run);
    // A request whose head is still arriving keeps the drain waiting, so the stop is still under way at the second signal.
    request = connect(port, '127.0.0.1');
    await new Promise((resolve) => request!.once('connect', resolve));
    request.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
    run.child.kill('SIGTERM');
    await until('the stop begins', () => /"event":"server\.stopping"/.test(run.output()), run);
    run.child.kill('SIGTERM');
    await until('the second signal is reported', () => /"event":"server\.stop-signal-repeated"/.test(run.output()), run);
    assert.equal(hasExited(run.child), false, 'the stop ended before its request did');
    request.end('\r\n');
    assert.equal(await ending(run), 0, run.output());
    assert.equal(await exists(join(dataDir, 'server.lock')), false, `server.lock was left behind:\n${run.output()}`);
    assert.match(run.output(), /"event":"server\.stopped"/);
  } finally {
    request?.destroy();
    await killChild(run.child);
    await rm(dataDir, { recursive: true, force: true });
  }
});
