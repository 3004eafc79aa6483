/**
 * Runs Stepgate as the bench's child process: `node src/main.ts` with a generated config file, exactly
 * as an admin starts it, so its CPU and memory are measured apart from the load driver.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../../src/config/schema.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface IdpOptions {
  dataDir: string;
  /** Where the config file goes (the run's temp dir). */
  configPath: string;
  port: number;
  secretKey: string;
  directory: NonNullable<ConfigInput['directory']>;
  logLevel: string;
  /** Directory for `--cpu-prof` output; no profiling when absent. */
  cpuProfileDir?: string;
}

export interface IdpHandle {
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

export function idpConfig(options: IdpOptions): ConfigInput {
  return {
    server: { host: '127.0.0.1', port: options.port, publicUrl: `http://localhost:${options.port}` },
    dataDir: options.dataDir,
    secretKey: options.secretKey,
    directory: options.directory,
    log: { level: options.logLevel as 'warn' },
  };
}

/**
 * The Node flags of `npm start` (package.json), so the bench measures the IdP exactly as admins run
 * it, heap sizing included.
 */
export function startFlags(): string[] {
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(/\s+/);
  return start.slice(start.indexOf('node') + 1, start.indexOf('src/main.ts'));
}

export async function startIdp(options: IdpOptions): Promise<IdpHandle> {
  await writeFile(options.configPath, JSON.stringify(idpConfig(options), null, 2));
  const profiling = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...startFlags(), ...profiling, join(ROOT, 'src/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, STEPGATE_CONFIG: options.configPath, LOG_LEVEL: options.logLevel, NODE_ENV: 'production' },
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
  const url = `http://localhost:${options.port}`;

  const deadline = Date.now() + 60_000;
  while (!tail.includes('Stepgate is running')) {
    if (!alive) throw new Error(`the IdP exited during start:\n${tail}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the IdP did not start in time:\n${tail}`);
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
  process.once('exit', () => alive && child.kill('SIGKILL'));
  return { url, pid: child.pid!, stop: () => end('SIGTERM'), kill: () => end('SIGKILL'), output: () => tail, outputBytes: () => bytes };
}
