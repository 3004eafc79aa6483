import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { BufferedFileWriter, writeBytes } from './buffered-file-writer.ts';
import { FileLock } from './file-lock.ts';

const REWRITE_BUFFER_BYTES = 1 << 20;
/**
 * Mode of the files in the data directory, for this user only: the journal holds session ids (cookie
 * values), the audit log who signed in from where, db.json users and relying parties.
 */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Opens (creating when absent) a file only its owner may read, whatever the umask. A file that already
 * existed keeps its mode when opened, so it is set again: one left behind by an older version, a
 * crash's temporary file, or a file the administrator's log rotation created.
 */
async function openPrivate(path: string, flags: 'a' | 'w'): Promise<FileHandle> {
  const handle = await open(path, flags, PRIVATE_FILE_MODE);
  try {
    await handle.chmod(PRIVATE_FILE_MODE);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function writeAll(handle: FileHandle, text: string): Promise<number> {
  return writeBytes(handle, Buffer.from(text, 'utf8'));
}

/**
 * `owner`: the one process that rewrites (compacts) the file. `guest`: another process that only
 * appends (the admin CLI). A rewrite swaps in a new file by rename; a guest's handle may still be
 * on the old one, and a line written there would be lost. So the owner swaps, and a guest checks it
 * holds the current file and writes, under one lock between them.
 */
export type AppendRole = 'owner' | 'guest';

/**
 * Appends lines to a file with group commit: concurrent appends share one write(2), and each caller's
 * promise resolves once its line is in the file (so it survives a kill -9 of this process).
 */
export class AppendFile {
  readonly path: string;
  readonly #role: AppendRole;
  readonly #swapLock: FileLock;
  readonly #records: ((lines: string[]) => string[]) | undefined;
  #handle: FileHandle | undefined;
  #pending: Array<{ line: string; done: (error?: unknown) => void }> = [];
  #writing: Promise<void> | undefined;
  /** While a rewrite runs: what was appended to the current file meanwhile, to be copied into the new one. */
  #appendedDuringRewrite: string[] | undefined;
  /**
   * An append that failed while a rewrite ran: its change may already be in the snapshot (read from
   * memory between the rewrite's writes) though the writer was told it failed, so that rewrite must not swap.
   */
  #appendFailedDuringRewrite: unknown;
  /** The short moment a rewrite copies those appends and swaps the files: new appends wait. */
  #swapping = false;
  /**
   * A failed write may have left part of its lines at the end of the file. The next write starts
   * with a newline, so its first line does not glue onto that fragment (a reader would then drop
   * both: the torn line is refused by its length, and the glued one with it).
   */
  #mayEndTorn = false;

  /**
   * `records`: what the lines of one write become in the file (by default each line as it is). The
   * journal seals them together: one seal per write instead of one per line.
   */
  constructor(path: string, role: AppendRole = 'owner', records?: (lines: string[]) => string[]) {
    this.path = path;
    this.#role = role;
    this.#records = records;
    this.#swapLock = new FileLock(`${path}.lock`);
  }

  async open(): Promise<void> {
    this.#handle = await openPrivate(this.path, 'a');
  }

  /**
   * The file may end in part of a line that is not this process's (a crash cut it short): the next
   * write starts with a newline, so its first line does not glue onto that fragment.
   */
  endTornLine(): void {
    this.#mayEndTorn = true;
  }

  append(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ line, done: (error) => (error ? reject(error) : resolve()) });
      this.#kick();
    });
  }

  #kick(): void {
    if (!this.#writing && !this.#swapping && this.#pending.length > 0) this.#writing = this.#drain();
  }

  async #drain(): Promise<void> {
    // Starts after the event loop's current poll phase, so appends from every request handled in this
    // turn (under load, several sockets are read per turn) share one write(2) and one thread-pool hop.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#pending.length > 0 && !this.#swapping) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        const lines = batch.map((item) => item.line);
        const text = (this.#mayEndTorn ? '\n' : '') + (this.#records?.(lines) ?? lines).map((line) => line + '\n').join('');
        if (this.#role === 'guest') await this.#swapLock.hold(() => this.#writeToCurrentFile(text));
        else await writeAll(this.#openHandle(), text);
        this.#mayEndTorn = false;
        this.#appendedDuringRewrite?.push(text);
        for (const item of batch) item.done();
      } catch (error) {
        this.#mayEndTorn = true;
        if (this.#appendedDuringRewrite) this.#appendFailedDuringRewrite ??= error;
        for (const item of batch) item.done(error);
      }
    }
    this.#writing = undefined;
  }

  #openHandle(): FileHandle {
    if (!this.#handle) throw new Error(`${this.path} is not open`);
    return this.#handle;
  }

  /** A guest's write: if the owner swapped the file since this handle was opened, reopen by path first. */
  async #writeToCurrentFile(text: string): Promise<void> {
    const [held, current] = await Promise.all([this.#openHandle().stat(), stat(this.path)]);
    if (held.ino !== current.ino || held.dev !== current.dev) {
      await this.#handle!.close();
      this.#handle = await openPrivate(this.path, 'a');
    }
    await writeAll(this.#handle!, text);
  }

  /**
   * Atomically replaces the whole file (compaction) with `lines`, followed by whatever was appended
   * while they were written and the lines `atSwap` returns (called once appends are held, just before
   * the swap: for lines other processes appended), and returns the new file's size in bytes.
   *
   * Appends go on during the rewrite, to the current file, so rewriting a large file never stalls
   * the writers (every sign-in waits for its appends); they wait only while the rewrite copies them
   * and swaps the files. `lines` is written in batches, so a large file never exists as one string.
   */
  async rewrite(lines: () => Iterable<string>, atSwap: () => Promise<string[]> = async () => []): Promise<number> {
    if (this.#appendedDuringRewrite) throw new Error(`${this.path} is already being rewritten`);
    this.#appendedDuringRewrite = [];
    const temporary = `${this.path}.tmp`;
    let out: FileHandle | undefined;
    try {
      out = await openPrivate(temporary, 'w');
      const bytes = await this.#writeAndSwap(out, temporary, lines, atSwap);
      await this.#handle?.close();
      this.#handle = await openPrivate(this.path, 'a');
      return bytes;
    } catch (error) {
      await out?.close().catch(() => undefined); // already closed after the swap (a no-op then)
      // A rewrite that did not fit (a full disk) would otherwise keep the space it took from every later write.
      await unlink(temporary).catch(() => undefined);
      throw error;
    } finally {
      this.#appendedDuringRewrite = undefined;
      this.#appendFailedDuringRewrite = undefined;
      this.#swapping = false;
      this.#kick();
    }
  }

  async #writeAndSwap(out: FileHandle, temporary: string, lines: () => Iterable<string>, atSwap: () => Promise<string[]>): Promise<number> {
    const writer = new BufferedFileWriter(out, REWRITE_BUFFER_BYTES);
    for (const line of lines()) await writer.writeLine(line);
    await writer.flush();
    // Guests wait from here to the swap, so none appends to the old file after its lines were read.
    // Taken before this process's own appends are held: waiting for a guest never stalls sign-ins.
    await this.#swapLock.hold(async () => {
      this.#swapping = true;
      while (this.#writing) await this.#writing;
      if (this.#appendFailedDuringRewrite) throw this.#appendFailedDuringRewrite;
      // Replayed after the snapshot, these end on the current value of every key they touched.
      const others = await atSwap();
      // The appends are whole lines, each ending in a newline already.
      for (const appended of this.#appendedDuringRewrite!) await writer.writeLine(appended.slice(0, -1));
      for (const line of others) await writer.writeLine(line);
      await writer.flush();
      await out.close();
      // Renamed first: if that fails, the current file (still complete) stays open for appends.
      await rename(temporary, this.path);
    });
    return writer.written;
  }

  /**
   * After log rotation moved the file away: later appends go to a new file at the path. Lines
   * already being written finish in the moved file, so none is lost between the two.
   */
  async reopen(): Promise<void> {
    this.#swapping = true;
    try {
      while (this.#writing) await this.#writing;
      const moved = this.#handle;
      this.#handle = await openPrivate(this.path, 'a');
      await moved?.close();
    } finally {
      this.#swapping = false;
      this.#kick();
    }
  }

  async close(): Promise<void> {
    while (this.#writing) await this.#writing;
    await this.#handle?.close();
    this.#handle = undefined;
  }
}
