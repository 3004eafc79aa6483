import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withoutSecretKey } from './env.ts';
import { captureOutput, waitForExit } from './child-exit.ts';

/** The CLI run as root on layouts other users could change: their ids, and its run. */
const CLI = new URL('../../src/cli/index.ts', import.meta.url).pathname;
export const SERVICE_UID = 65534;
export const SERVICE_GID = 65534;
export const asRootOnly = { skip: process.getuid?.() !== 0 && 'only root can give a directory to another user' };
/** How a refusal names the service user: by name where it has one. */
export const serviceUser = `user (?:id ${SERVICE_UID}|\\S+ \\(uid ${SERVICE_UID}\\))`;

/** The CLI with `env` (STEPGATE_DATA_DIR among it, or none), no key from the test's own environment. */
export async function cliWith(env: Record<string, string>, words: string[], cwd?: string): Promise<{ code: number | null; output: string }> {
  const { STEPGATE_DATA_DIR: _dataDir, ...inherited } = withoutSecretKey();
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CLI, ...words], { cwd, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  const code = await waitForExit(child, { what: `cli ${words.join(' ')}`, output });
  return { code, output: output() };
}

/** A scratch directory of root's, 0755, as /var/lib is. */
export async function withRootDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-open-path-'));
  await chmod(dir, 0o755);
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
