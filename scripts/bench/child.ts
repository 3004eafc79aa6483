/**
 * A Node server the bench runs as its own process (Stepgate, or the bare oidc-provider of the library
 * floor), so its CPU and memory are read from /proc apart from the load driver's. Started with the
 * Node flags of `npm start`, so every server is measured the way admins run Stepgate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServerHandle {
  url: string;
  pid: number;
  /** Graceful stop (SIGTERM): the process flushes and, when profiling, writes its .cpuprofile. */
  stop(): Promise<void>;
  /** kill -9: nothing is flushed; whatever was acknowledged must already be on disk. */
  kill(): Promise<void>;
  /** The last lines the process printed (for error messages). */
  output(): string;
  /** Bytes the process printed so far (logging on the hot path would show here). */
  outputBytes(): number;
}

/**
 * The compile cache of `npm start` (package.json), unless NODE_COMPILE_CACHE names another: a start
 * that finds every module's type-stripped code there never loads Node's TypeScript parser (about
 * 20 MB of RSS), so the bench measures the memory admins see from the second start on.
 */
export const COMPILE_CACHE = join(ROOT, 'node_modules/.cache/stepgate');

/** The Node flags of `npm start` (package.json), heap sizing included. */
export function startFlags(): string[] {
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(/\s+/);
  return start.slice(start.indexOf('node') + 1, start.indexOf('src/main.ts'));
}

export interface ServerSpec {
  /** What the errors call it. */
  name: string;
  /** Path from the repository root. */
  script: string;
  extraFlags?: string[];
  env: Record<string, string>;
  /** The line the server prints once it listens. */
  readyText: string;
  url: string;
}

export async function startServer(spec: ServerSpec): Promise<ServerHandle> {
  const child: ChildProcess = spawn(process.execPath, [...startFlags(), ...(spec.extraFlags ?? []), join(ROOT, spec.script)], {
    cwd: ROOT,
    env: { NODE_COMPILE_CACHE: COMPILE_CACHE, ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  let bytes = 0;
  const keep = (chunk: Buffer) => {
    bytes += chunk.length;
    tail = (tail + chunk.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let alive = true;
  void exited.then(() => (alive = false));

  const deadline = Date.now() + 60_000;
  while (!tail.includes(spec.readyText)) {
    if (!alive) throw new Error(`${spec.name} exited during start:\n${tail}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${spec.name} did not start in time:\n${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const end = async (signal: NodeJS.Signals) => {
    if (!alive) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  // One listener per child would pass Node's limit of 10 (a warning) in a full run; each removes its own once the child has exited.
  const killOnExit = () => alive && child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  return { url: spec.url, pid: child.pid!, stop: () => end('SIGTERM'), kill: () => end('SIGKILL'), output: () => tail, outputBytes: () => bytes };
}
