import { appendFile, open as openFile, stat } from 'node:fs/promises';
import { randomId } from '../core/ids.ts';
import { existsSync } from 'node:fs';
import { AppendFile } from './append-file.ts';
import type { KeyValue, SetOptions } from './store.ts';
import type { Clock } from '../core/clock.ts';

interface Entry {
  /** Serialised JSON: isolates callers from each other and makes compare-and-set a string compare. */
  json: string;
  expiresAt?: number;
  durable: boolean;
}

/**
 * One journal line: `S` (set) or `D` (delete), tab-separated, then the value's JSON as is:
 *   S <writer> <expiresAt> <value length> <"namespace"> <"key"> <value JSON>
 * The value is stored verbatim (never JSON inside JSON), so writing and compacting cost no escaping
 * and replay parses no values. Namespace and key are JSON strings, and JSON never holds a raw tab or
 * newline, so the fields split cleanly. The length catches a line torn by a crash and glued to the
 * next append. `writer` names the writing process, so a process tailing the journal skips its own lines.
 * Lines of the first format (one JSON object each, starting with `{`) are still read.
 */
const SET = 'S';
const DELETE = 'D';

function setLine(writer: string, namespace: string, key: string, entry: Entry): string {
  return `${SET}\t${writer}\t${entry.expiresAt ?? ''}\t${entry.json.length}\t${JSON.stringify(namespace)}\t${JSON.stringify(key)}\t${entry.json}`;
}

function deleteLine(writer: string, namespace: string, key: string): string {
  return `${DELETE}\t${writer}\t\t\t${JSON.stringify(namespace)}\t${JSON.stringify(key)}`;
}

interface ParsedLine {
  set: boolean;
  namespace: string;
  key: string;
  entry?: Entry;
}

/**
 * undefined: a torn, damaged or foreign-format line, skipped (everything before it is intact).
 * `validateValues`: parse the value too (at start: a value damaged in place would otherwise be found
 * only when read, as a server error on every request that reads it).
 */
function parseLine(raw: string, validateValues = false): ParsedLine | undefined {
  try {
    if (raw.startsWith('{')) return parseFirstFormat(raw);
    // The value holds no raw tab, so a whole set line has exactly 7 fields and a delete line 6.
    const fields = raw.split('\t');
    const [op, , expires, length, namespace, key, json] = fields as [string, string, string, string, string, string, string | undefined];
    if (!(op === SET && fields.length === 7) && !(op === DELETE && fields.length === 6)) return undefined;
    const base = { namespace: JSON.parse(namespace) as string, key: JSON.parse(key) as string };
    if (op === DELETE) return { set: false, ...base };
    if (json!.length !== Number(length)) return undefined;
    if (validateValues) JSON.parse(json!);
    return { set: true, ...base, entry: { json: json!, expiresAt: expires ? Number(expires) : undefined, durable: true } };
  } catch {
    return undefined;
  }
}

function parseFirstFormat(raw: string): ParsedLine {
  const line = JSON.parse(raw) as { o: 's' | 'd'; n: string; k: string; v?: string; e?: number };
  const base = { namespace: line.n, key: line.k };
  return line.o === 's' ? { set: true, ...base, entry: { json: line.v!, expiresAt: line.e, durable: true } } : { set: false, ...base };
}

/** `start`: every line, at open. `tail`: other processes' lines, while running. `swap`: other processes' lines, at a compaction's swap. */
type ReplayMode = 'start' | 'tail' | 'swap';

export interface JournalOptions {
  /** The server owns the journal and compacts it; a short-lived CLI process must not. */
  owner: boolean;
}

const COMPACT_MIN_LINES = 20_000;
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
  #journalLines = 0;
  #liveAtLastCompaction = 0;
  #compacting: Promise<void> | undefined;
  #timers: NodeJS.Timeout[] = [];
  readonly #writer = randomId(6);
  readonly #options: JournalOptions;
  /** How far this process has read the journal; lines past it were written by another process. */
  #readOffset = 0;
  #tailing = false;
  #sweeping = false;
  /** Lines found damaged at open (not the torn last line a crash leaves): kept aside, never silently dropped. */
  #rejected: string[] = [];

  constructor(path: string, clock: Clock, options: JournalOptions = { owner: true }) {
    this.#journal = new AppendFile(path, options.owner ? 'owner' : 'guest');
    this.#clock = clock;
    this.#options = options;
  }

  async open(): Promise<void> {
    let tornTail = false;
    if (existsSync(this.#journal.path)) {
      const { size } = await stat(this.#journal.path);
      this.#readOffset = await this.#replayRange(0, size, 'start');
      tornTail = this.#readOffset < size;
    }
    // Kept before the compaction below writes the journal without them, for whoever repairs the data.
    if (this.#rejected.length > 0 && this.#options.owner) await appendFile(this.rejectedPath, this.#rejected.map((line) => `${line}\n`).join(''), { mode: 0o600 });
    await this.#journal.open();
    // A crash cut the last line short: end it, so our first line does not glue onto it (the owner's compaction drops it anyway).
    if (tornTail && !this.#options.owner) await this.#journal.append('');
    if (this.#options.owner) {
      this.#readOffset = await this.#journal.rewrite(() => this.#snapshot(), () => this.#takeForeignLines());
      this.#timers = [setInterval(() => void this.#sweep(), SWEEP_INTERVAL_MS), setInterval(() => void this.#tail(), TAIL_INTERVAL_MS)];
      for (const timer of this.#timers) timer.unref();
    }
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
    const ownSet = `${SET}\t${this.#writer}\t`;
    const ownDelete = `${DELETE}\t${this.#writer}\t`;
    for (const raw of text.split('\n')) {
      if (!raw) continue;
      // Tailing reads back every line this process wrote too: skip those before parsing anything.
      if (foreignOnly && (raw.startsWith(ownSet) || raw.startsWith(ownDelete))) continue;
      const line = parseLine(raw, mode === 'start');
      if (!line) {
        if (mode === 'start') this.#rejected.push(raw);
        continue;
      }
      applied?.push(raw);
      const live = line.entry && !(line.entry.expiresAt !== undefined && line.entry.expiresAt <= now) ? line.entry : undefined;
      if (live) this.#map(line.namespace).set(line.key, live);
      else this.#remove(line.namespace, line.key);
      if (mode === 'tail') this.#echo(line.namespace, line.key, live);
    }
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
    for (const [namespace, entries] of this.#namespaces) {
      for (const [key, entry] of entries) {
        if (!entry.durable || (entry.expiresAt !== undefined && entry.expiresAt <= now)) continue;
        count += 1;
        yield setLine('', namespace, key, entry);
      }
    }
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
    await this.#journal.append(line);
    // Compared with the live set of the last compaction, not a fresh count: counting every entry on
    // every write made each write O(n). Compaction is O(n) but happens once per 4x growth: amortised O(1).
    if (this.#options.owner && this.#journalLines > COMPACT_MIN_LINES && this.#journalLines > 4 * this.#liveAtLastCompaction && !this.#compacting && !this.#tailing) {
      this.#compacting = this.#journal
        .rewrite(() => this.#snapshot(), () => this.#takeForeignLines())
        .then((size) => void (this.#readOffset = size))
        // The journal is still whole (a failed rewrite leaves it in place): try again once it has doubled.
        .catch(() => void (this.#liveAtLastCompaction = Math.ceil(this.#journalLines / 2)))
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
    if (durable) await this.#write(setLine(this.#writer, namespace, key, entry));
    else if (previous?.durable) await this.#write(deleteLine(this.#writer, namespace, key));
  }

  async delete(namespace: string, key: string): Promise<void> {
    const entry = this.#remove(namespace, key);
    if (entry?.durable) await this.#write(deleteLine(this.#writer, namespace, key));
  }

  async consume<T>(namespace: string, key: string): Promise<T | undefined> {
    const entry = this.#live(namespace, key);
    if (!entry) return undefined;
    this.#remove(namespace, key);
    if (entry.durable) await this.#write(deleteLine(this.#writer, namespace, key));
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

  /** How many damaged lines open found (their text is in `rejectedPath`). */
  get rejectedLines(): number {
    return this.#rejected.length;
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
