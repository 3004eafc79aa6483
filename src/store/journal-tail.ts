import { stat } from 'node:fs/promises';
import type { FileIdentity, JournalReplay } from './journal-replay.ts';

/**
 * Follows the lines other processes (the admin CLI) append to the journal while this one runs, so
 * `mfa unlock` reaches a running server.
 */
export class JournalTail {
  readonly #path: string;
  readonly #replay: JournalReplay;
  /** How far this process has read the journal; lines past it were written by another process. */
  offset = 0;
  /** The read of other processes' lines under way. */
  #following: Promise<void> | undefined;
  /**
   * The file `offset` counts in, for a process that does not swap the journal itself (the CLI): the
   * server's compaction (or a restarted server's) swaps in a shorter one, where that offset means
   * nothing. Undefined for the owner, whose compaction sets the offset in the file it swapped in.
   */
  #file: FileIdentity | undefined;

  constructor(path: string, replay: JournalReplay) {
    this.#path = path;
    this.#replay = replay;
  }

  get running(): boolean {
    return this.#following !== undefined;
  }

  /** The read under way, if any: it may have looked at the file before the latest lines. */
  get inFlight(): Promise<void> | undefined {
    return this.#following;
  }

  /** Applies the lines appended past `offset`; while a read is under way, waits for that one instead. */
  follow(): Promise<void> {
    this.#following ??= this.#read().finally(() => (this.#following = undefined));
    return this.#following;
  }

  /** For a process that does not own the journal: `file` is the one it read `offset` bytes of. */
  readsFile(file: FileIdentity): void {
    this.#file = file;
  }

  async #read(): Promise<void> {
    try {
      const { size, dev, ino } = await stat(this.#path);
      if (this.#file && (this.#file.dev !== dev || this.#file.ino !== ino)) {
        // Swapped since: read from its start, or the server's lines since the swap would be missed.
        this.#file = { dev, ino };
        this.offset = await this.#replay.replayRange(0, size, 'reread');
        return;
      }
      if (size > this.offset) this.offset += await this.#replay.replayRange(this.offset, size, 'tail');
    } catch {
      // the journal is being compacted; the next round reads again
    }
  }

  /**
   * At a compaction's swap: applies what other processes appended since the last tail (the tailer
   * pauses during a compaction) and returns those lines, so the new journal keeps them too.
   */
  async takeForeignLines(): Promise<string[]> {
    const applied: string[] = [];
    const { size } = await stat(this.#path);
    if (size > this.offset) await this.#replay.replayRange(this.offset, size, 'swap', applied);
    return applied;
  }
}
