import { appendFile, open as openFile, stat } from 'node:fs/promises';
import { randomId } from '../core/ids.ts';
import { existsSync } from 'node:fs';
import { AppendFile, PRIVATE_FILE_MODE } from './append-file.ts';
import { UnsettledChanges } from './unsettled-changes.ts';
import type { KeyValue, SetOptions } from './store.ts';
import type { Clock } from '../core/clock.ts';
import type { JournalSealer } from './journal-sealer.ts';
import type { Logger } from '../core/log.ts';
import { SEALED, deleteLine, isSealed, parseLine, setLine, type Entry, type ParsedLine } from './journal-lines.ts';

/** One string per namespace and key (the length keeps "a"+"bc" apart from "ab"+"c"). */
function unsettledKey(namespace: string, key: string): string {
  return `${namespace.length}:${namespace}${key}`;
}

/**
 * No sealed line of the journal opens with the configured key: the key of another installation, or a
 * new one made after the right one was lost. Open stops before it rewrites anything, so the journal
 * is still whole when the right key is given.
 */
export class JournalKeyMismatch extends Error {
  readonly path: string;

  constructor(path: string) {
    super(`${path} does not open with the configured secret key`);
    this.name = 'JournalKeyMismatch';
    this.path = path;
  }
}

/** `start`: every line, at open. `tail`: other processes' lines, while running. `swap`: other processes' lines, at a compaction's swap. */
type ReplayMode = 'start' | 'tail' | 'swap';

export interface JournalOptions {
  /** Seals every line written, opens every sealed line read: the installation's secret key. */
  sealer: JournalSealer;
  /** The server owns the journal and compacts it; a short-lived CLI process must not. Default: true. */
  owner?: boolean;
  /** Where a plaintext line appended to the sealed journal while running is reported. */
  logger?: Logger;
}

const COMPACT_MIN_LINES = 20_000;
/**
 * Errors of a compaction that could not write its new journal (a full disk, a quota, a disk error):
 * the journal is still whole, so the server runs on it and compacts once it can.
 */
const WRITE_FAILURES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EIO']);
/**
 * Plaintext characters a compaction seals into one journal line. Each seal and open costs several
 * microseconds beyond its bytes: sealed entry by entry, 100,000 sessions took 2.5 s to compact
 * instead of 0.3 s, and a start 3.3 s instead of 1 s. A damaged line loses the few dozen entries it holds.
 */
const SNAPSHOT_RECORD_CHARS = 16 * 1024;
/** The journal is read at start in chunks of this size, never as one string. */
const READ_CHUNK_BYTES = 1 << 20;
const TAIL_INTERVAL_MS = 500;
const SWEEP_INTERVAL_MS = 60_000;
/** Entries the expiry sweep visits between two turns of the event loop. */
const SWEEP_SLICE = 10_000;

/**
 * Key-value store held in memory and made durable by an append-only journal. Each write appends one
 * line (O(1) in the number of entries); the journal is compacted when it grows well beyond the live set.
 */
export class JournalKeyValue implements KeyValue {
  readonly #namespaces = new Map<string, Map<string, Entry>>();
  readonly #journal: AppendFile;
  readonly #clock: Clock;
  /** Plaintext lines in the journal (a compaction's sealed record holds many): what decides the next compaction. */
  #journalLines = 0;
  #liveAtLastCompaction = 0;
  #compacting: Promise<void> | undefined;
  #timers: NodeJS.Timeout[] = [];
  readonly #writer = randomId(6);
  readonly #sealer: JournalSealer;
  readonly #owner: boolean;
  readonly #logger: Logger | undefined;
  /** How far this process has read the journal; lines past it were written by another process. */
  #readOffset = 0;
  #tailing = false;
  #sweeping = false;
  /** Lines found damaged at open (not the torn last line a crash leaves): kept aside, never silently dropped. */
  #rejected: string[] = [];
  #rejectedCount = 0;
  /** The unfinished last line found at open (a crash or a full disk cut it off), until it is kept aside. */
  #tornTail: string | undefined;
  /** Keys whose appends are under way: memory goes back to what the journal holds when one fails. */
  readonly #unsettled = new UnsettledChanges<Entry>();
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

  constructor(path: string, clock: Clock, options: JournalOptions) {
    this.#owner = options.owner ?? true;
    this.#journal = new AppendFile(path, this.#owner ? 'owner' : 'guest');
    this.#clock = clock;
    this.#sealer = options.sealer;
    this.#logger = options.logger;
  }

  async open(): Promise<void> {
    let size = 0;
    if (existsSync(this.#journal.path)) {
      size = (await stat(this.#journal.path)).size;
      this.#readOffset = await this.#replayRange(0, size, 'start');
    }
    const tornTail = this.#readOffset < size;
    this.#rejectedCount = this.#rejected.length;
    if (this.#sealedLinesOpened === 0 && this.#rejected.some(isSealed)) throw new JournalKeyMismatch(this.#journal.path);
    await this.#journal.open();
    if (!this.#owner) {
      // A crash cut the last line short: end it, so our first line does not glue onto it.
      if (tornTail) await this.#journal.append('');
      return;
    }
    if (tornTail) await this.#keepTornTail(this.#readOffset, size);
    try {
      await this.#compact();
    } catch (error) {
      if (!WRITE_FAILURES.has((error as NodeJS.ErrnoException).code ?? '')) {
        await this.#journal.close();
        throw error;
      }
      // Every line was read: starting on the journal as it is loses nothing, while stopping would keep the server down until space is freed.
      this.#compactionFailed(error);
      if (tornTail) {
        this.#readOffset = size; // the tailer must not read the torn line as another process's
        await this.#journal.append('').catch(() => undefined); // a failure here makes the next append start on a new line
      }
    }
    this.#timers = [setInterval(() => void this.#sweep(), SWEEP_INTERVAL_MS), setInterval(() => void this.#tail(), TAIL_INTERVAL_MS)];
    for (const timer of this.#timers) timer.unref();
  }

  /** Holds the unfinished last line, between byte offsets `start` and `end`, to be kept aside with the damaged lines. */
  async #keepTornTail(start: number, end: number): Promise<void> {
    const handle = await openFile(this.#journal.path, 'r');
    try {
      const fragment = Buffer.alloc(end - start);
      const { bytesRead } = await handle.read(fragment, 0, fragment.length, start);
      this.#tornTail = fragment.toString('utf8', 0, bytesRead);
    } finally {
      await handle.close();
    }
    this.#logger?.warn({ event: 'store.journal.torn', bytes: end - start, keptIn: this.rejectedPath }, 'the journal ended in an unfinished line (cut off by a crash or a full disk): its entry is missing; the line is kept for inspection');
  }

  /**
   * Rewrites the journal with the live entries only. The damaged lines and the torn last line found at
   * open are written aside in the same step, just before the swap that drops them from the journal:
   * written earlier, a compaction that then failed would leave them in the journal, and the next
   * start would write them aside once more.
   */
  async #compact(): Promise<void> {
    this.#readOffset = await this.#journal.rewrite(
      () => this.#snapshot(),
      async () => {
        await this.#setAside();
        return this.#takeForeignLines();
      },
    );
  }

  #compactionFailed(error: unknown): void {
    // Tried again once the journal has doubled.
    this.#liveAtLastCompaction = Math.ceil(this.#journalLines / 2);
    this.#logger?.warn({ event: 'store.journal.compaction-failed', path: this.#journal.path, error: (error as NodeJS.ErrnoException).code ?? (error as Error).message }, 'the journal could not be compacted (is the disk full?): it is used as it is, and compacted later');
  }

  /** Appends the lines found damaged at open, kept sealed (a damaged plaintext line of an earlier version may hold a session id), to `rejectedPath`. */
  async #setAside(): Promise<void> {
    const lines = this.#tornTail === undefined ? this.#rejected : [...this.#rejected, this.#tornTail];
    if (lines.length === 0) return;
    await appendFile(this.rejectedPath, lines.map((line) => `${isSealed(line) ? line : this.#sealed('', line)}\n`).join(''), { mode: PRIVATE_FILE_MODE });
    this.#rejected = [];
    this.#tornTail = undefined;
  }

  /**
   * Replays the complete lines of the journal between byte offsets `start` and `end`, a chunk at a
   * time (never the whole file as one string), and returns how many bytes they span: an unfinished
   * last line (still being written, or torn by a crash) is left out.
   */
  async #replayRange(start: number, end: number, mode: ReplayMode, applied?: string[]): Promise<number> {
    const handle = await openFile(this.#journal.path, 'r');
    try {
      let carry = Buffer.alloc(0);
      let consumed = 0;
      for (let position = start; position < end; ) {
        const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, end - position));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        const bytes = carry.length ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
        // A newline byte never occurs inside a multi-byte UTF-8 character, so lines split cleanly here.
        const complete = bytes.lastIndexOf(0x0a) + 1;
        this.#replay(bytes.toString('utf8', 0, complete), mode, applied);
        consumed += complete;
        carry = bytes.subarray(complete);
      }
      return consumed;
    } finally {
      await handle.close();
    }
  }

  /** Applies lines another process (the admin CLI) appended, so `mfa unlock` reaches a running server. */
  async #tail(): Promise<void> {
    if (this.#tailing || this.#compacting) return;
    this.#tailing = true;
    try {
      const { size } = await stat(this.#journal.path);
      if (size > this.#readOffset) this.#readOffset += await this.#replayRange(this.#readOffset, size, 'tail');
    } catch {
      // the journal is being compacted; the next round reads again
    } finally {
      this.#tailing = false;
    }
  }

  /**
   * At a compaction's swap: applies what other processes appended since the last tail (the tailer
   * pauses during a compaction) and returns those lines, so the new journal keeps them too.
   */
  async #takeForeignLines(): Promise<string[]> {
    const applied: string[] = [];
    const { size } = await stat(this.#journal.path);
    if (size > this.#readOffset) await this.#replayRange(this.#readOffset, size, 'swap', applied);
    return applied;
  }

  #replay(text: string, mode: ReplayMode, applied?: string[]): void {
    const now = this.#clock.now();
    const foreignOnly = mode !== 'start';
    const own = `${SEALED}\t${this.#writer}\t`;
    for (const raw of text.split('\n')) {
      if (!raw) continue;
      // Tailing reads back every line this process wrote too: skip those before opening anything.
      if (foreignOnly && raw.startsWith(own)) continue;
      if (mode === 'start') this.#plaintextAllowed ??= !isSealed(raw);
      if (!isSealed(raw) && (mode !== 'start' || !this.#plaintextAllowed)) {
        this.#plaintextRefused += 1;
        if (mode === 'start') this.#rejected.push(raw);
        else this.#logger?.error({ event: 'store.journal.plaintext-refused', path: this.#journal.path }, 'a plaintext line was appended to the sealed journal (by hand, or by a CLI of an earlier version): ignored');
        continue;
      }
      const lines = this.#parse(raw, mode === 'start');
      if (!lines) {
        if (mode === 'start') this.#rejected.push(raw);
        continue;
      }
      applied?.push(raw);
      for (const line of lines) {
        const live = line.entry && !(line.entry.expiresAt !== undefined && line.entry.expiresAt <= now) ? line.entry : undefined;
        if (live) this.#map(line.namespace).set(line.key, live);
        else this.#remove(line.namespace, line.key);
        if (mode === 'tail') {
          this.#unsettled.overtaken(unsettledKey(line.namespace, line.key));
          this.#echo(line.namespace, line.key, live);
        }
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
      text = this.#sealer.open(raw.slice(writerEnd + 1));
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

  #sealed(writer: string, text: string): string {
    return `${SEALED}\t${writer}\t${this.#sealer.seal(text)}`;
  }

  /**
   * Writes a line another process appended again, as this process's own, in the same synchronous turn
   * that applied it. The other line may sit in the file before a write this process made to the same
   * key a moment earlier (from the value it held before it read that line); replayed in file order at
   * the next start, that write would win, while this process went on with the other's value: an
   * administrator's `user unlock` would come back as the lock it lifted. The copy ends the key's lines
   * with the value this process holds. Lines applied at a compaction's swap need none: they are
   * written after every line of this process already.
   */
  #echo(namespace: string, key: string, entry: Entry | undefined): void {
    const line = entry ? setLine(this.#writer, namespace, key, entry) : deleteLine(this.#writer, namespace, key);
    // A failed append (disk full) leaves the file as it was before this fix; the next write reports the disk.
    this.#write(line).catch(() => undefined);
  }

  *#snapshot(): Generator<string> {
    const now = this.#clock.now();
    let count = 0;
    let record: string[] = [];
    let recordChars = 0;
    for (const [namespace, entries] of this.#namespaces) {
      for (const [key, entry] of entries) {
        if (!entry.durable || (entry.expiresAt !== undefined && entry.expiresAt <= now)) continue;
        count += 1;
        const line = setLine('', namespace, key, entry);
        record.push(line);
        recordChars += line.length;
        if (recordChars >= SNAPSHOT_RECORD_CHARS) {
          yield this.#sealed('', record.join('\n'));
          record = [];
          recordChars = 0;
        }
      }
    }
    if (record.length > 0) yield this.#sealed('', record.join('\n'));
    this.#journalLines = count;
    this.#liveAtLastCompaction = count;
  }

  #map(namespace: string): Map<string, Entry> {
    let entries = this.#namespaces.get(namespace);
    if (!entries) {
      entries = new Map();
      this.#namespaces.set(namespace, entries);
    }
    return entries;
  }

  /**
   * Removes an entry, and its namespace once empty: some namespaces are per grant (the OIDC adapter's
   * token indexes), and a map left behind for every grant that ever existed would grow without end.
   */
  #remove(namespace: string, key: string): Entry | undefined {
    const entries = this.#namespaces.get(namespace);
    const entry = entries?.get(key);
    if (!entries || !entry) return undefined;
    entries.delete(key);
    if (entries.size === 0) this.#namespaces.delete(namespace);
    return entry;
  }

  #live(namespace: string, key: string): Entry | undefined {
    const entry = this.#namespaces.get(namespace)?.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.#clock.now()) {
      this.#remove(namespace, key);
      return undefined;
    }
    return entry;
  }

  /**
   * Drops expired entries (reads skip them anyway; this returns their memory), a slice at a time:
   * one pass over 300k entries blocks the event loop for 20–35 ms here.
   */
  async #sweep(): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      let now = this.#clock.now();
      let visited = 0;
      for (const [namespace, entries] of this.#namespaces) {
        for (const [key, entry] of entries) {
          if (entry.expiresAt !== undefined && entry.expiresAt <= now) entries.delete(key);
          if (++visited % SWEEP_SLICE === 0) {
            await new Promise((resolve) => setImmediate(resolve));
            now = this.#clock.now();
          }
        }
        // Between slices the namespace may have been emptied and created anew: drop only this map.
        if (entries.size === 0 && this.#namespaces.get(namespace) === entries) this.#namespaces.delete(namespace);
      }
    } finally {
      this.#sweeping = false;
    }
  }

  async #write(line: string): Promise<void> {
    this.#journalLines += 1;
    await this.#journal.append(this.#sealed(this.#writer, line));
    // Compared with the live set of the last compaction, not a fresh count: counting every entry on
    // every write made each write O(n). Compaction is O(n) but happens once per 4x growth: amortised O(1).
    if (this.#owner && this.#journalLines > COMPACT_MIN_LINES && this.#journalLines > 4 * this.#liveAtLastCompaction && !this.#compacting && !this.#tailing) {
      this.#compacting = this.#compact()
        // The journal is still whole (a failed rewrite leaves it in place, and removes what it wrote).
        .catch((error: unknown) => this.#compactionFailed(error))
        .finally(() => (this.#compacting = undefined));
    }
  }

  async get<T>(namespace: string, key: string): Promise<T | undefined> {
    const entry = this.#live(namespace, key);
    return entry ? (JSON.parse(entry.json) as T) : undefined;
  }

  async set<T>(namespace: string, key: string, value: T, options: SetOptions = {}): Promise<void> {
    await this.#put(namespace, key, JSON.stringify(value), options);
  }

  async #put(namespace: string, key: string, json: string, options: SetOptions): Promise<void> {
    const durable = options.durable !== false;
    const expiresAt = options.ttlSeconds !== undefined ? this.#clock.now() + options.ttlSeconds * 1000 : undefined;
    const entries = this.#map(namespace);
    const previous = entries.get(key);
    const entry: Entry = { json, expiresAt, durable };
    entries.set(key, entry);
    if (durable) await this.#change(namespace, key, previous, entry, setLine(this.#writer, namespace, key, entry));
    else if (previous?.durable) await this.#change(namespace, key, previous, entry, deleteLine(this.#writer, namespace, key));
    else this.#unsettled.overtaken(unsettledKey(namespace, key));
  }

  /**
   * Appends the line of a change already made in memory (from `before` to `after`). When the append
   * fails, memory goes back to what the journal holds: a write answered with an error must not act
   * as done until a restart drops it (an enrolment, a logout, a consumed code coming back).
   */
  #change(namespace: string, key: string, before: Entry | undefined, after: Entry | undefined, line: string): Promise<void> {
    return this.#unsettled.settle(unsettledKey(namespace, key), before, after, () => this.#write(line), (onDisk) => {
      if (onDisk) this.#map(namespace).set(key, onDisk);
      else this.#remove(namespace, key);
    });
  }

  async delete(namespace: string, key: string): Promise<void> {
    const entry = this.#remove(namespace, key);
    if (entry?.durable) await this.#change(namespace, key, entry, undefined, deleteLine(this.#writer, namespace, key));
  }

  async consume<T>(namespace: string, key: string): Promise<T | undefined> {
    const entry = this.#live(namespace, key);
    if (!entry) return undefined;
    this.#remove(namespace, key);
    if (entry.durable) await this.#change(namespace, key, entry, undefined, deleteLine(this.#writer, namespace, key));
    return JSON.parse(entry.json) as T;
  }

  async compareAndSet<T>(namespace: string, key: string, expected: T | undefined, next: T, options: SetOptions = {}): Promise<boolean> {
    // Check and write happen in the same synchronous turn, so no other caller can interleave.
    const current = this.#live(namespace, key);
    const expectedJson = expected === undefined ? undefined : JSON.stringify(expected);
    if ((current?.json ?? undefined) !== expectedJson) return false;
    await this.#put(namespace, key, JSON.stringify(next), options);
    return true;
  }

  async entries<T>(namespace: string): Promise<Array<[string, T]>> {
    const out: Array<[string, T]> = [];
    for (const key of [...(this.#namespaces.get(namespace)?.keys() ?? [])]) {
      const entry = this.#live(namespace, key);
      if (entry) out.push([key, JSON.parse(entry.json) as T]);
    }
    return out;
  }

  async count(namespace: string): Promise<number> {
    return (await this.entries(namespace)).length;
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
    return `${this.#journal.path}.rejected`;
  }

  /** Namespaces held in memory (diagnostics: an emptied namespace must not stay behind). */
  get namespaceCount(): number {
    return this.#namespaces.size;
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    await this.#compacting;
    await this.#journal.close();
  }
}
