import { open, rename, type FileHandle } from 'node:fs/promises';

const REWRITE_BATCH_CHARS = 1 << 20;

/**
 * Appends lines to a file with group commit: concurrent appends share one write(2), and each caller's
 * promise resolves once its line is in the file (so it survives a kill -9 of this process).
 */
export class AppendFile {
  readonly path: string;
  #handle: FileHandle | undefined;
  #pending: Array<{ line: string; done: (error?: unknown) => void }> = [];
  #writing: Promise<void> | undefined;
  #rewriting = false;

  constructor(path: string) {
    this.path = path;
  }

  async open(): Promise<void> {
    this.#handle = await open(this.path, 'a');
  }

  append(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ line, done: (error) => (error ? reject(error) : resolve()) });
      this.#kick();
    });
  }

  #kick(): void {
    if (!this.#writing && !this.#rewriting && this.#pending.length > 0) this.#writing = this.#drain();
  }

  async #drain(): Promise<void> {
    // Starts after the event loop's current poll phase, so appends from every request handled in this
    // turn (under load, several sockets are read per turn) share one write(2) and one thread-pool hop.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        if (!this.#handle) throw new Error(`${this.path} is not open`);
        await this.#handle.write(batch.map((item) => item.line + '\n').join(''));
        for (const item of batch) item.done();
      } catch (error) {
        for (const item of batch) item.done(error);
      }
    }
    this.#writing = undefined;
  }

  /**
   * Atomically replaces the whole file (compaction) with `lines`, read after earlier appends are
   * written; appends made meanwhile wait and then go to the new file. Written in batches, so a large
   * file never exists as one string in memory (a peak the heap would keep long after).
   */
  async rewrite(lines: () => Iterable<string>): Promise<void> {
    this.#rewriting = true;
    try {
      while (this.#writing) await this.#writing;
      const temporary = `${this.path}.tmp`;
      const out = await open(temporary, 'w');
      try {
        let batch = '';
        for (const line of lines()) {
          batch += line + '\n';
          if (batch.length >= REWRITE_BATCH_CHARS) {
            await out.write(batch);
            batch = '';
          }
        }
        if (batch) await out.write(batch);
      } finally {
        await out.close();
      }
      await this.#handle?.close();
      await rename(temporary, this.path);
      this.#handle = await open(this.path, 'a');
    } finally {
      this.#rewriting = false;
      this.#kick();
    }
  }

  async close(): Promise<void> {
    while (this.#writing) await this.#writing;
    await this.#handle?.close();
    this.#handle = undefined;
  }
}
