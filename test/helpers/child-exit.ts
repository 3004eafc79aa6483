import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

/**
 * Waiting for a child process (the server, the CLI, the demo, a script) with a deadline: a child that
 * does not end shows up as a fast failure carrying what it wrote, never as the runner's silent
 * 240 s test timeout, and it is not left running (killed by its pid).
 */

/** The default for a child run to its end (a CLI command, a start refused): generous for a loaded 2-core CI machine. */
export const RUN_TIMEOUT_MS = 60_000;
/** The default for a child to end once it was sent its stop signal. */
export const STOP_TIMEOUT_MS = 30_000;

export interface WaitOptions {
  /** How long to wait for the exit (default RUN_TIMEOUT_MS). */
  timeoutMs?: number;
  /** What the child wrote so far, for the error (see captureOutput). */
  output?: () => string;
  /** What the child is, for the error, e.g. "the server" or "`cli sp add`". */
  what?: string;
  /**
   * The child was spawned `detached` (its own process group, e.g. the demo with the IdP it starts):
   * on timeout the whole group is killed, so no grandchild is left behind either.
   */
  group?: boolean;
}

/** Whether the child has ended: its exit code or the signal that ended it is known ('exit' was emitted). */
export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Collects the child's stdout and stderr as they arrive (interleaved); returns a reader of all of it so far. */
export function captureOutput(child: ChildProcess): () => string {
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk) => (output += chunk.toString()));
  return () => output;
}

function kill(child: ChildProcess, signal: NodeJS.Signals, group = false): void {
  if (child.pid === undefined) return;
  try {
    process.kill(group ? -child.pid : child.pid, signal);
  } catch {
    // already gone
  }
}

/** Resolves with true once 'exit' was emitted (at once when it already was), false after `ms`. */
function exitWithin(child: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    child.once('exit', onExit);
  });
}

/**
 * After the exit, the last output may still be on its way ('exit' can come before the pipes are
 * read to their end): waits briefly for each read pipe to close. A pipe a grandchild still holds
 * open is let go of (destroyed), so it cannot keep the test process alive.
 */
async function drained(child: ChildProcess, ms = 5_000): Promise<void> {
  const pipes = [child.stdout, child.stderr].filter((pipe): pipe is Readable => pipe !== null && pipe !== undefined && !pipe.closed);
  await Promise.all(
    pipes.map(
      (pipe) =>
        new Promise<void>((resolve) => {
          if (pipe.listenerCount('data') === 0) pipe.resume(); // read by nobody: it would never reach its end
          const timer = setTimeout(() => {
            pipe.destroy();
            resolve();
          }, ms);
          pipe.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    ),
  );
}

/**
 * Waits for the child's exit and returns its exit code (null when a signal ended it; see
 * child.signalCode). Safe when the child has already exited. On timeout the child is killed
 * (SIGKILL, by pid) and this throws an error naming it, with its output.
 */
export async function waitForExit(child: ChildProcess, options: WaitOptions = {}): Promise<number | null> {
  const timeoutMs = options.timeoutMs ?? RUN_TIMEOUT_MS;
  if (!(await exitWithin(child, timeoutMs))) {
    kill(child, 'SIGKILL', options.group);
    await exitWithin(child, 5_000);
    for (const pipe of [child.stdout, child.stderr]) pipe?.destroy();
    const what = options.what ?? `the child process (${child.spawnfile})`;
    const output = options.output ? `; its output:\n${options.output()}` : '';
    throw new Error(`${what} (pid ${child.pid}) did not exit within ${timeoutMs / 1000} s; killed (SIGKILL)${output}`);
  }
  await drained(child);
  return child.exitCode;
}

/**
 * Stops the child: `signal` (default SIGTERM) by its pid unless it has already exited, then
 * waitForExit (default STOP_TIMEOUT_MS). Returns its exit code.
 */
export function stopChild(child: ChildProcess, options: WaitOptions & { signal?: NodeJS.Signals } = {}): Promise<number | null> {
  if (!hasExited(child)) kill(child, options.signal ?? 'SIGTERM', false);
  return waitForExit(child, { timeoutMs: STOP_TIMEOUT_MS, ...options });
}

/**
 * Kills the child and, for a `detached` one, its process group (SIGKILL), unless it has already
 * exited; for a `finally` after a failure, where nothing is to be checked about the stop.
 */
export async function killChild(child: ChildProcess, options: { group?: boolean } = {}): Promise<void> {
  if (options.group) kill(child, 'SIGKILL', true);
  else if (!hasExited(child)) kill(child, 'SIGKILL');
  await exitWithin(child, 5_000);
  for (const pipe of [child.stdout, child.stderr]) pipe?.destroy();
}

/** Whether a process (one a test did not spawn itself: a server npm started) is still running. */
export function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
