import { withoutSecretKey } from '../helpers/env.ts';
import { freePort } from '../../scripts/free-port.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killChild, running } from '../helpers/child-exit.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

/** npm as the admin types it: the npm that runs this test when there is one, else the one on PATH. */
function npm(words: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const execPath = process.env.npm_execpath;
  const [command, args] = execPath && execPath.endsWith('.js') ? [process.execPath, [execPath, ...words]] : ['npm', words];
  return spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Waits until the output says the process is ready; fails with the output when it exits first. */
async function readyWhen(child: ChildProcess, ready: RegExp, what: string): Promise<() => string> {
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk) => (output += chunk.toString()));
  const deadline = Date.now() + 60_000;
  while (!ready.test(output)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready within 60 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return () => output;
}

/**
 * The time a stop may take: the server answers the requests under way for up to 10 s, then has 10 s to
 * close (server-stop.ts). A busy machine may use some of that.
 */
const STOP_DEADLINE_MS = 25_000;

/** Whether the process has ended within STOP_DEADLINE_MS. */
async function ends(pid: number): Promise<boolean> {
  for (const deadline = Date.now() + STOP_DEADLINE_MS; Date.now() < deadline; ) {
    if (!running(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !running(pid);
}

/**
 * Whether npm has exited within STOP_DEADLINE_MS: it waits for the process it started, which waits for
 * its server's stop. It is killed if not, so that no test leaves it behind.
 */
async function npmEnds(child: ChildProcess): Promise<boolean> {
  const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, STOP_DEADLINE_MS, false)));
  const ended = child.exitCode !== null || child.signalCode !== null || (await Promise.race([exited, gaveUp]).finally(() => clearTimeout(timer)));
  if (!ended) child.kill('SIGKILL');
  return ended;
}

const lockHolder = async (dataDir: string) => Number((await readFile(join(dataDir, 'server.lock'), 'utf8')).split(' ')[0]);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} to npm start's pid stops the server and frees server.lock`, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-npm-signal-'));
    let server: number | undefined;
    let child: ChildProcess | undefined;
    try {
      child = npm(['start'], { ...withoutSecretKey(), STEPGATE_DATA_DIR: dataDir, PORT: String(await freePort()), LOG_LEVEL: 'warn' });
      const output = await readyWhen(child, /OIDC discovery[\s\S]*(bootstrap|Directory:)/, 'npm start');
      server = await lockHolder(dataDir);
      assert.notEqual(server, child.pid, "the signal goes to npm's pid, not the server's");
      child.kill(signal);
      assert.ok(await npmEnds(child), `npm ended:\n${output()}`);
      assert.ok(await ends(server), `the server (pid ${server}) stopped with npm:\n${output()}`);
      await assert.rejects(stat(join(dataDir, 'server.lock')), { code: 'ENOENT' }, 'and released its lock: the next npm start is not refused');
    } finally {
      // Not ready in time: npm and the server it started are still running (they would keep this test file from ending).
      server ??= await lockHolder(dataDir).catch(() => undefined);
      if (server !== undefined && running(server)) process.kill(server, 'SIGTERM');
      if (child) await killChild(child);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
}

test("SIGTERM to npm run demo's pid stops the demo and its IdP", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-npm-demo-'));
  let idp: number | undefined;
  let child: ChildProcess | undefined;
  try {
    const ports = { DEMO_IDP_PORT: await freePort(), DEMO_SP_PORT: await freePort(), DEMO_RP_PORT: await freePort() };
    child = npm(['run', 'demo'], { ...process.env, ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])), DEMO_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    // LOG_LEVEL info: a failure's output then shows whether the IdP began its stop (server.stopping) and how far it got.
    const output = await readyWhen(child, /Press Ctrl\+C/, 'npm run demo');
    idp = await lockHolder(dataDir);
    child.kill('SIGTERM');
    assert.ok(await npmEnds(child), `npm ended:\n${output()}`);
    // npm ends with its script's signal when the signal, not the demo, ended the script: its IdP was then never told to stop.
    assert.equal(child.exitCode, 0, `the demo stopped, rather than being ended by the signal (${child.signalCode}):\n${output()}`);
    assert.ok(await ends(idp), `the demo IdP (pid ${idp}) stopped with npm:\n${output()}`);
  } finally {
    idp ??= await lockHolder(dataDir).catch(() => undefined);
    if (idp !== undefined && running(idp)) process.kill(idp, 'SIGTERM');
    if (child) await killChild(child);
    await rm(dataDir, { recursive: true, force: true });
  }
});
