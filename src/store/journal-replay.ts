import { existsSync } from 'node:fs';
import { appendFile, open as openFile, stat } from 'node:fs/promises';
import { PRIVATE_FILE_MODE } from './append-file.ts';
import { expired } from './journal-expiry.ts';
import { SEALED, isSealed, parseLine, type Entry, type ParsedLine } from './journal-lines.ts';
import { sealedLine } from './journal-sealed-line.ts';
import type { JournalSealer } from './journal-sealer.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';

/**
 * `start`: every line, at open. `tail`: other processes' lines, while running. `swap`: other processes' lines, at a compaction's swap.
 * `reread`: every line of a journal the owner swapped in since this process (the CLI) read it, its own lines too.
 */
export type ReplayMode = 'start' | 'tail' | 'swap' | 'reread';

/** Which file a path named when it was read: a compaction swaps another one in under the same path. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/** The journal is read at start in chunks of this size, never as one string. */
const READ_CHUNK_BYTES = 1 << 20;

interface ReplayOptions {
  sealer: JournalSealer;
  /** This process's name on its lines: lines read back while running are skipped when it wrote them. */
  writer: string;
  clock: Clock;
  logger: Logger | undefined;
  /** Takes what a replayed line leaves the key with: its entry, or undefined when deleted or expired by now. */
  apply(namespace: string, key: string, entry: Entry | undefined, mode: ReplayMode): void;
}

/**
 * Reads the journal file back into memory (through `apply`): all of it at open, and while running the
 * lines other processes append (see JournalTail). Opens the sealed lines, refuses plaintext ones
 * written into a sealed journal, and sets the damaged lines found at open aside.
 */
export class JournalReplay {
  readonly #path: string;
  readonly #options: ReplayOptions;
  /** Lines found damaged at open (not the torn last line a crash leaves): kept aside, never silently dropped. */
  #rejected: string[] = [];
  #rejectedCount = 0;
  /** The unfinished last line found at open (a crash or a full disk cut it off), until it is kept aside. */
  #tornTail: string | undefined;
  /** Sealed lines that opened at start: none, while some were refused, means another key. */
  #sealedLinesOpened = 0;
  /**
   * Plaintext lines are read only from a journal of an earlier version, to seal it (its first line is
   * plaintext; the owner's first open rewrites it sealed). In a sealed journal a plaintext line was
   * written by hand: taken, it would be a session or token made without the key. Decided by the
   * first line at start; never while running.
   */
  #plaintextAllowed: boolean | undefined;
  /** Plaintext lines found in a sealed journal (at start, or appended while running), refused. */
  #plaintextRefused = 0;

  constructor(path: string, options: ReplayOptions) {
    this.#path = path;
    this.#options = options;
  }

  /** Replays the whole journal at open. `read`: the bytes its complete lines span (an unfinished last line is left out). */
  async replayAll(): Promise<{ size: number; read: number; file?: FileIdentity }> {
    let size = 0;
    let read = 0;
    let file: FileIdentity | undefined;
    if (existsSync(this.#path)) {
      const { dev, ino, size: bytes } = await stat(this.#path);
      file = { dev, ino };
      size = bytes;
      read = await this.replayRange(0, size, 'start');
    }
    this.#rejectedCount = this.#rejected.length;
    return { size, read, ...(file ? { file } : {}) };
  }

  /** No sealed line opened at start, while some were refused: the journal was sealed with another key. */
  get sealedWithAnotherKey(): boolean {
    return this.#sealedLinesOpened === 0 && this.#rejected.some(isSealed);
  }

  /** Holds the unfinished last line, between byte offsets `start` and `end`, to be kept aside with the damaged lines. */
  async keepTornTail(start: number, end: number): Promise<void> {
    const handle = await openFile(this.#path, 'r');
    try {
      const fragment = Buffer.alloc(end - start);
      const { bytesRead } = await handle.read(fragment, 0, fragment.length, start);
      this.#tornTail = fragment.toString('utf8', 0, bytesRead);
    } finally {
      await handle.close();
    }
    this.#options.logger?.warn({ event: 'store.journal.torn', bytes: end - start, keptIn: this.rejectedPath }, 'the journal ended in an unfinished line (cut off by a crash or a full disk): its entry is missing; the line is kept for inspection');
  }

  /** Appends the lines found damaged at open, kept sealed (a damaged plaintext line of an earlier version may hold a session id), to `rejectedPath`. */
  async setAside(): Promise<void> {
    const lines = this.#tornTail === undefined ? this.#rejected : [...this.#rejected, this.#tornTail];
    if (lines.length === 0) return;
    await appendFile(this.rejectedPath, lines.map((line) => `${isSealed(line) ? line : sealedLine(this.#options.sealer, '', line)}\n`).join(''), { mode: PRIVATE_FILE_MODE });
    this.#rejected = [];
    this.#tornTail = undefined;
  }

  /**
   * Replays the complete lines of the journal between byte offsets `start` and `end`, a chunk at a
   * time (never the whole file as one string), and returns how many bytes they span: an unfinished
   * last line (still being written, or torn by a crash) is left out. `applied` collects the lines applied.
   */
  async replayRange(start: number, end: number, mode: ReplayMode, applied?: string[]): Promise<number> {
    const handle = await openFile(this.#path, 'r');
    try {
      // One buffer for the whole read: a fresh megabyte per chunk left the C heap holding tens of
      // megabytes after start (freed chunks are reused, not returned to the system).
      let buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, Math.max(end - start, 1)));
      let carried = 0;
      let consumed = 0;
      for (let position = start; position < end; ) {
        if (carried === buffer.length) {
          // A line longer than the buffer: grow it (rare: lines are sealed records of about 22 KB).
          const larger = Buffer.allocUnsafe(buffer.length * 2);
          buffer.copy(larger, 0, 0, carried);
          buffer = larger;
        }
        const { bytesRead } = await handle.read(buffer, carried, Math.min(buffer.length - carried, end - position), position);
        if (bytesRead === 0) break;
        position += bytesRead;
        const filled = carried + bytesRead;
        // A newline byte never occurs inside a multi-byte UTF-8 character, so lines split cleanly here.
        const complete = buffer.lastIndexOf(0x0a, filled - 1) + 1;
        if (complete > 0) this.#replay(buffer.toString('utf8', 0, complete), mode, applied);
        consumed += complete;
        buffer.copy(buffer, 0, complete, filled);
        carried = filled - complete;
      }
      return consumed;
    } finally {
      await handle.close();
    }
  }

  #replay(text: string, mode: ReplayMode, applied?: string[]): void {
    const now = this.#options.clock.now();
    const foreignOnly = mode === 'tail' || mode === 'swap';
    const own = `${SEALED}\t${this.#options.writer}\t`;
    for (const raw of text.split('\n')) {
      if (!raw) continue;
      // Tailing reads back every line this process wrote too: skip those before opening anything.
      if (foreignOnly && raw.startsWith(own)) continue;
      if (mode === 'start') this.#plaintextAllowed ??= !isSealed(raw);
      if (!isSealed(raw) && (mode !== 'start' || !this.#plaintextAllowed)) {
        this.#plaintextRefused += 1;
        if (mode === 'start') this.#rejected.push(raw);
        else this.#options.logger?.error({ event: 'store.journal.plaintext-refused', path: this.#path }, 'a plaintext line was appended to the sealed journal (by hand, or by a CLI of an earlier version): ignored');
        continue;
      }
      const lines = this.#parse(raw, mode === 'start');
      if (!lines) {
        if (mode === 'start') this.#rejected.push(raw);
        continue;
      }
      applied?.push(raw);
      for (const line of lines) {
        const live = line.entry && !expired(line.entry, now) ? line.entry : undefined;
        this.#options.apply(line.namespace, line.key, live, mode);
      }
    }
  }

  /** The plaintext lines one journal line holds; undefined when it is damaged, torn or sealed with another key. */
  #parse(raw: string, atStart: boolean): ParsedLine[] | undefined {
    if (!isSealed(raw)) {
      const line = parseLine(raw, atStart);
      return line && [line];
    }
    const writerEnd = raw.indexOf('\t', SEALED.length + 1);
    if (writerEnd < 0) return undefined;
    let text: string;
    try {
      text = this.#options.sealer.open(raw.slice(writerEnd + 1));
    } catch {
      return undefined;
    }
    // What opens is what this key sealed: values are not parsed again to find damage (AES-GCM found none).
    const lines: ParsedLine[] = [];
    for (const plain of text.split('\n')) {
      const line = parseLine(plain);
      if (!line) return undefined;
      lines.push(line);
    }
    if (atStart) this.#sealedLinesOpened += 1;
    return lines;
  }

  /** Plaintext lines refused since open: written into a sealed journal without the key (see #plaintextAllowed). */
  get plaintextLinesRefused(): number {
    return this.#plaintextRefused;
  }

  /** How many damaged lines open found (their text is in `rejectedPath`). */
  get rejectedLines(): number {
    return this.#rejectedCount;
  }

  get rejectedPath(): string {
    return `${this.#path}.rejected`;
  }
}
