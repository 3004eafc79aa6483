import { mkdir, open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FileLock } from './file-lock.ts';
import { DataDirectoryError } from './data-directory-error.ts';

/** The file a running server holds in its data directory, with its pid. */
const SERVER_LOCK_FILE = 'server.lock';

/** Another server runs on the data directory: two would compact the journal under each other and lose sign-ins. */
class DataDirectoryInUse extends DataDirectoryError {}

export interface ServerLock {
  readonly path: string;
  /**
   * Whether the lock file still holds this server's token: false once someone removed or replaced it.
   * Rejects when that cannot be told (an I/O error): not a sign the lock is gone, so ask again later.
   */
  stillHeld(): Promise<boolean>;
  /** Removes the lock file, only while it is still this server's. */
  release(): Promise<void>;
}

/**
 * Makes this process the one server of `dataDir` until `release`. The admin CLI does not take it: it is
 * a guest writer beside the server. FileLock's logic is reused as it is: a holder whose pid is gone
 * (kill -9, a crash, a container restarted with the same pid) is taken over, and a live holder is
 * waited for as long as FileLock waits (10 s), which also lets a restart wait out a server that is
 * still answering its last requests (SIGTERM drains for up to 10 s).
 */
export async function holdServerLock(dataDir: string): Promise<ServerLock> {
  // The directory made is the one the lock is taken in: `link/..` given as is to mkdir goes through the link, while join drops it.
  dataDir = resolve(dataDir);
  const path = join(dataDir, SERVER_LOCK_FILE);
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw unusableDataDir(dataDir, error);
  }
  let release!: () => void;
  const released = new Promise<void>((done) => (release = done));
  let acquired!: () => void;
  const taken = new Promise<void>((done) => (acquired = done));
  const holding = new FileLock(path).hold(() => {
    acquired();
    return released;
  });
  try {
    await Promise.race([taken, holding]);
  } catch (error) {
    if (error instanceof DataDirectoryError) throw error;
    if ((error as NodeJS.ErrnoException).code) throw unusableDataDir(dataDir, error);
    throw await inUse(dataDir, path);
  }
  const held = await open(path, 'r').catch(async (error: unknown) => {
    release();
    await holding;
    throw unusableDataDir(dataDir, error);
  });
  const token = await readToken(held);
  const { dev, ino } = await held.stat();
  return {
    path,
    async stillHeld() {
      const current = await stat(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (!current || current.dev !== dev || current.ino !== ino) return false;
      return (await readToken(held)) === token;
    },
    async release() {
      await held.close();
      release();
      await holding;
    },
  };
}

/** More than any token FileLock writes (a pid and two short ids), so a longer text never reads as equal. */
const TOKEN_READ_BYTES = 256;

/**
 * The lock's text, read through the descriptor opened at start: the check must not need a new one.
 * A server flooded with connections up to its descriptor limit could open no file, and took that
 * for a lost lock (it stopped after about 20,000 idle connections). Holding the file open also keeps
 * its inode number from being reused while this server runs, so a file put in its place (renamed
 * over it) always has another number, while a lock written over in place is seen by its text.
 */
async function readToken(handle: FileHandle): Promise<string> {
  const buffer = Buffer.alloc(TOKEN_READ_BYTES);
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
  return buffer.toString('utf8', 0, bytesRead);
}

/** Not the user's to write in (owned by another user, read-only, a file in its place): named by key and path, not a bare errno. */
export function unusableDataDir(dataDir: string, error: unknown): DataDirectoryError {
  const code = (error as NodeJS.ErrnoException).code;
  // mkdir's EEXIST: the path is there, and is not a directory.
  if (code === 'EEXIST') return new DataDirectoryError(`dataDir: ${resolve(dataDir)} is not a directory`);
  // Not a permission problem, and nothing a chown fixes: the same command works once space is freed.
  if (code === 'ENOSPC' || code === 'EDQUOT') return new DataDirectoryError(`dataDir: ${resolve(dataDir)} is on a full disk${code === 'EDQUOT' ? ' (the disk quota of the user Stepgate runs as is used up)' : ''}: free some space there, then try again (${(error as Error).message})`);
  if (code === 'EROFS') return new DataDirectoryError(`dataDir: ${resolve(dataDir)} is on a read-only file system; Stepgate must write its data there (${(error as Error).message})`);
  const user = typeof process.getuid === 'function' ? ` (Stepgate runs as uid ${process.getuid()}, which must be able to create files in it)` : '';
  return new DataDirectoryError(`dataDir: ${resolve(dataDir)} cannot be used${user}: ${(error as Error).message}`);
}

async function inUse(dataDir: string, path: string): Promise<DataDirectoryInUse> {
  const holder = await readFile(path, 'utf8').catch(() => '');
  const pid = Number(holder.split(' ')[0]);
  const who = Number.isInteger(pid) && pid > 0 ? `pid ${pid}` : 'a process that did not write its pid';
  return new DataDirectoryInUse(
    `dataDir: ${resolve(dataDir)} is in use by another Stepgate server (${who}, holding ${resolve(path)}). ` +
      'Run one server per data directory: stop that one first, or give this one another dataDir (STEPGATE_DATA_DIR). ' +
      `If that process is not a Stepgate server (its pid reused after a reboot), delete ${resolve(path)}.`,
  );
}
