/**
 * Node's compile cache holds every module's type-stripped code: a start that finds it there never
 * loads Node's TypeScript parser, a WebAssembly module that otherwise keeps about 20 MB of RSS for the
 * server's whole run. `npm start` keeps one, and the server has written it by the time it says it is ready.
 */
import { withoutSecretKey } from '../helpers/env.ts';
import { freePort } from '../../scripts/free-port.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { captureOutput, hasExited, killChild, stopChild } from '../helpers/child-exit.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const MAIN = join(ROOT, 'src/main.ts');
const READY = /OIDC discovery[\s\S]*(bootstrap|Directory:)/;

/**
 * A preload (JavaScript, so that it is never stripped itself) that writes, when the server's process
 * ends, whether Node loaded its TypeScript parser; npm's own process, which NODE_OPTIONS reaches too, writes nothing.
 */
async function parserProbe(dir: string): Promise<string> {
  const probe = join(dir, 'probe.mjs');
  await writeFile(
    probe,
    `import { writeFileSync } from 'node:fs';
if (process.argv[1]?.endsWith('src/main.ts')) process.on('exit', () => writeFileSync(${JSON.stringify(join(dir, 'parser-'))} + process.pid, String(process.moduleLoadList.some((name) => name.includes('internal/deps/amaro')))));
`,
  );
  return probe;
}

/** Whether the server process `pid` loaded the TypeScript parser, as the probe wrote when it ended (which may come just after npm's end). */
async function loadedParser(dir: string, pid: number): Promise<boolean> {
  for (const deadline = Date.now() + 10_000; ; ) {
    const written = await readFile(join(dir, `parser-${pid}`), 'utf8').catch(() => undefined);
    if (written !== undefined) return JSON.parse(written) as boolean;
    if (Date.now() > deadline) throw new Error(`the server (pid ${pid}) wrote no probe result within 10 s of its stop`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const lockHolder = async (dataDir: string) => Number((await readFile(join(dataDir, 'server.lock'), 'utf8')).split(' ')[0]);

async function untilReady(child: ChildProcess, output: () => string, what: string): Promise<void> {
  for (const deadline = Date.now() + 60_000; !READY.test(output()); ) {
    if (hasExited(child)) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${output()}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready within 60 s:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A server started by `launch` on a port free a moment ago, ready. Another test's connection may take
 * that port in between (EADDRINUSE): then it is started again on another one, up to three times.
 */
async function readyOnFreePort(launch: (port: string) => ChildProcess, what: string): Promise<{ child: ChildProcess; output: () => string }> {
  for (let attempt = 1; ; attempt++) {
    const child = launch(String(await freePort()));
    const output = captureOutput(child);
    try {
      await untilReady(child, output, what);
      return { child, output };
    } catch (error) {
      await killChild(child);
      if (attempt >= 3 || !output().includes('EADDRINUSE')) throw error;
    }
  }
}

/** npm as the admin types it: the npm that runs this test when there is one, else the one on PATH. */
function npmStart(env: NodeJS.ProcessEnv): ChildProcess {
  const execPath = process.env.npm_execpath;
  const [command, args] = execPath && execPath.endsWith('.js') ? [process.execPath, [execPath, 'start']] : ['npm', ['start']];
  return spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

test('from the second npm start on, the server does not load the TypeScript parser', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-compile-cache-'));
  const { NODE_COMPILE_CACHE: _cache, NODE_DISABLE_COMPILE_CACHE: _disabled, ...inherited } = withoutSecretKey();
  const env = { ...inherited, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(await parserProbe(dir)).href}`, STEPGATE_DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' };
  try {
    const servers: number[] = [];
    for (let start = 0; start < 2; start++) {
      const { child, output } = await readyOnFreePort((port) => npmStart({ ...env, PORT: port }), 'npm start');
      try {
        servers.push(await lockHolder(env.STEPGATE_DATA_DIR));
      } finally {
        await stopChild(child, { what: 'npm start (SIGTERM)', output });
      }
    }
    assert.equal(await loadedParser(dir, servers[1]!), false, 'the second start took every module from the compile cache');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a server ended by kill -9 has already written the compile cache: the next start does not load the TypeScript parser', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-compile-cache-kill-'));
  const { NODE_DISABLE_COMPILE_CACHE: _disabled, ...inherited } = withoutSecretKey();
  const env = { ...inherited, NODE_COMPILE_CACHE: join(dir, 'cache'), NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(await parserProbe(dir)).href}`, STEPGATE_DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' };
  const start = () => readyOnFreePort((port) => spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN], { cwd: ROOT, env: { ...env, PORT: port }, stdio: ['ignore', 'pipe', 'pipe'] }), 'the server');
  try {
    const first = await start();
    first.child.kill('SIGKILL');
    await killChild(first.child);
    const second = await start();
    await stopChild(second.child, { what: 'the server (SIGTERM)', output: second.output });
    assert.equal(await loadedParser(dir, second.child.pid!), false, 'the start after kill -9 took every module from the compile cache');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
