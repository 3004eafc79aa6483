import { readFileSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { randomId } from '../core/ids.ts';
import { DataDirectoryError } from './data-directory-error.ts';

/** How long a holder may keep others waiting; holds last milliseconds (one write, or a file swap). */
const WAIT_LIMIT_MS = 10_000;
/** A lock file still without a pid this long after its creation was left by a holder that died creating it. */
const UNWRITTEN_LIMIT_MS = 2_000;

/**
 * Marks every token this process writes. A lock file with this process's pid but another mark was
 * left by an earlier process that had the same pid (a container's pid 1 killed with -9): dead.
 */
const THIS_PROCESS = randomId(9);

/**
 * This boot of this machine (Linux; undefined elsewhere). A lock file written under another boot, left
 * by a process that a power cut or a reboot ended during a write, or restored from a backup taken on
 * another host, has no live holder, whatever process its pid names now: after a reboot the pid is
 * often another daemon's, and every writer then waited 10 s and failed, the server did not start.
 */
const THIS_BOOT = (() => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
})();

/**
 * A short lock between processes on one machine: a lock file created exclusively (O_EXCL), holding
 * the holder's pid. Node has no flock(2); this is its portable equivalent. A holder that died while
 * holding it (kill -9) leaves the file behind: a waiter that finds its pid gone removes it.
 */
export class FileLock {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async hold<T>(work: () => Promise<T>): Promise<T> {
    const token = await this.#acquire();
    try {
      return await work();
    } finally {
      await this.#release(token);
    }
  }

  async #acquire(): Promise<string> {
    const token = `${process.pid} ${THIS_PROCESS}.${randomId(9)}${THIS_BOOT ? ` ${THIS_BOOT}` : ''}`;
    const deadline = Date.now() + WAIT_LIMIT_MS;
    for (let attempt = 0; ; attempt += 1) {
      try {
        // Only this user may read it, like the file it guards.
        const handle = await open(this.path, 'wx', 0o600);
        try {
          await handle.writeFile(token);
        } catch (error) {
          // Ours, and empty or cut short (a full disk): left, it would hold up every later writer.
          await handle.close().catch(() => undefined);
          await unlink(this.path).catch(() => undefined);
          throw error;
        }
        await handle.close();
        return token;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const dead = await this.#deadHolder();
      if (dead !== undefined && (await this.#takeOver(dead))) continue;
      if (Date.now() > deadline) throw new Error(`${this.path} has been locked for over ${WAIT_LIMIT_MS / 1000} s by a running process`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(1 + attempt, 10)));
    }
  }

  /** The lock file's text when its holder is dead; undefined when it is alive (or the file is gone). */
  async #deadHolder(): Promise<string | undefined> {
    const holder = await readFile(this.path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined; // released meanwhile: try again
      // A directory in its place never goes away by waiting: say so now, not after the wait limit.
      if (error.code === 'EISDIR') throw new DataDirectoryError(`${this.path} is not a file: remove it`);
      throw error;
    });
    if (holder === undefined) return undefined;
    const pid = Number(holder.split(' ')[0]);
    const boot = holder.split(' ')[2];
    if (boot !== undefined && THIS_BOOT !== undefined && boot !== THIS_BOOT) return holder;
    if (pid === process.pid) return (holder.split(' ')[1] ?? '').startsWith(`${THIS_PROCESS}.`) ? undefined : holder;
    if (!holder || !Number.isInteger(pid) || pid <= 0) {
      const created = await stat(this.path).then((info) => info.mtimeMs).catch(() => Date.now());
      return Date.now() - created > UNWRITTEN_LIMIT_MS ? holder : undefined;
    }
    try {
      process.kill(pid, 0);
      return undefined;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH' ? holder : undefined;
    }
  }

  /**
   * Removes a dead holder's lock file, and only that one. Waiters that judged the same dead holder at
   * once would otherwise each remove "the" stale file, the slower one removing the lock the faster one
   * has just made, and both would hold it. So the check and the removal run under a second, short
   * lock (`.takeover`), and the file is read again there: it goes only while it is still the dead one.
   */
  /** False while another waiter is at it: then this one waits its turn like any waiter. */
  async #takeOver(dead: string): Promise<boolean> {
    const takeover = `${this.path}.takeover`;
    try {
      await (await open(takeover, 'wx', 0o600)).close();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Held for microseconds; one this old was left by a waiter that died in between.
      const created = await stat(takeover).then((info) => info.mtimeMs).catch(() => Date.now());
      if (Date.now() - created > UNWRITTEN_LIMIT_MS) await unlink(takeover).catch(() => undefined);
      return false;
    }
    try {
      if ((await readFile(this.path, 'utf8').catch(() => undefined)) === dead) await unlink(this.path).catch(() => undefined);
    } finally {
      await unlink(takeover).catch(() => undefined);
    }
    return true;
  }

  /** Removes the lock file only while it is still ours (a waiter may have judged us dead and taken over). */
  async #release(token: string): Promise<void> {
    const holder = await readFile(this.path, 'utf8').catch(() => '');
    if (holder === token) await unlink(this.path).catch(() => undefined);
  }
}
