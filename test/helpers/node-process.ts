import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { captureOutput, hasExited, stopChild, waitForExit } from './child-exit.ts';

/** The repository: the processes run from here, as `npm run …` runs them. */
export const ROOT = new URL('../..', import.meta.url).pathname;
const MAIN = join(ROOT, 'src/main.ts');

export interface ProcessRun {
  code: number | null;
  out: string;
  err: string;
}

/** Runs a TypeScript entry point (the CLI, a script) in its own Node process with `env`; returns its exit code and output. */
export async function runNodeScript(script: string, words: string[], env: NodeJS.ProcessEnv): Promise<ProcessRun> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', script, ...words], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk) => (err += chunk.toString()));
  const code = await waitForExit(child, { what: `node ${script} ${words.join(' ')}`, output: () => `${out}${err}` });
  return { code, out, err };
}

/** Starts the server as `npm start` does (warnings and worse logged), waits for its banner, stops it (SIGTERM, by pid); returns all it wrote. */
export async function startUntilBanner(env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN], { cwd: ROOT, env: { ...env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  try {
    const deadline = Date.now() + 30_000;
    while (!/OIDC discovery[\s\S]*(bootstrap|Directory:)/.test(output())) {
      if (hasExited(child)) throw new Error(`exited with ${(await waitForExit(child)) ?? child.signalCode}:\n${output()}`);
      if (Date.now() > deadline) throw new Error(`no banner within 30 s:\n${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await stopChild(child, { what: 'the server (SIGTERM)', output });
  }
  return output();
}
