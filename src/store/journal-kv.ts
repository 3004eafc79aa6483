import { randomId } from '../core/ids.ts';
import { AppendFile } from './append-file.ts';
import { UnsettledChanges } from './unsettled-changes.ts';
import { JournalEntries } from './journal-entries.ts';
import { JournalReplay, type ReplayMode } from './journal-replay.ts';
import { JournalTail } from './journal-tail.ts';
import { JournalCompaction, isWriteFailure } from './journal-compaction.ts';
import { sealedRecords } from './journal-sealed-line.ts';
import type { KeyValue, SetOptions } from './store.ts';
import type { Clock } from '../core/clock.ts';
import type { JournalSealer } from './journal-sealer.ts';
import type { Logger } from '../core/log.ts';
import { deleteLine, setLine, type Entry } from './journal-lines.ts';

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

export interface JournalOptions {
  /** Seals every line written, opens every sealed line read: the installation's secret key. */
  sealer: JournalSealer;
  /** The server owns the journal and compacts it; a short-lived CLI process must not. Default: true. */
  owner?: boolean;
  /** Where a plaintext line appended to the sealed journal while running is reported. */
  logger?: Logger;
}

const TAIL_INTERVAL_MS = 500;
const SWEEP_INTERVAL_MS = 60_000;

/**
 * Key-value store held in memory and made durable by an append-only journal. Each write appends one
 * line (O(1) in the number of entries); the journal is compacted when it grows well beyond the live set.
 */
export class JournalKeyValue implements KeyValue {
  readonly #entries: JournalEntries;
  readonly #journal: AppendFile;
  readonly #clock: Clock;
  readonly #replay: JournalReplay;
  readonly #tail: JournalTail;
  readonly #compaction: JournalCompaction;
  #timers: NodeJS.Timeout[] = [];
  readonly #writer = randomId(6);
  readonly #sealer: JournalSealer;
  readonly #owner: boolean;
  /** Keys whose appends are under way: memory goes back to what the journal holds when one fails. */
  readonly #unsettled = new UnsettledChanges<Entry>();

  constructor(path: string, clock: Clock, options: JournalOptions) {
    this.#owner = options.owner ?? true;
    // The server starts each write on a new line (an empty line when the file already ends one): a CLI's
    // line cut short (a full disk, a kill -9) would otherwise take the server's next write with it, and
    // the tailer that notices such a fragment reads only every half second, while a busy server writes
    // every few milliseconds. A byte a write: readers skip empty lines.
    const startOnNewLine = this.#owner;
    this.#journal = new AppendFile(path, this.#owner ? 'owner' : 'guest', (lines) => [...(startOnNewLine ? [''] : []), ...sealedRecords(this.#sealer, this.#writer, lines)]);
    this.#clock = clock;
    this.#sealer = options.sealer;
    const { sealer, logger } = options;
    this.#entries = new JournalEntries(clock);
    this.#replay = new JournalReplay(path, { sealer, writer: this.#writer, clock, logger, apply: (namespace, key, entry, mode) => this.#applyReplayed(namespace, key, entry, mode) });
    this.#tail = new JournalTail(path, this.#replay);
    this.#compaction = new JournalCompaction({ journal: this.#journal, entries: this.#entries, replay: this.#replay, tail: this.#tail, sealer, clock, logger });
  }

  async open(): Promise<void> {
    const { size, read, file } = await this.#replay.replayAll();
    this.#tail.offset = read;
    if (!this.#owner && file) this.#tail.readsFile(file);
    const tornTail = read < size;
    if (this.#replay.sealedWithAnotherKey) throw new JournalKeyMismatch(this.#journal.path);
    await this.#journal.open();
    if (!this.#owner) {
      // A crash cut the last line short: our first write ends it.
      if (tornTail) this.#journal.endTornLine();
      return;
    }
    if (tornTail) await this.#replay.keepTornTail(read, size);
    try {
      await this.#compaction.run();
    } catch (error) {
      if (!isWriteFailure(error)) {
        await this.#journal.close();
        throw error;
      }
      // Every line was read: starting on the journal as it is loses nothing, while stopping would keep the server down until space is freed.
      this.#compaction.failed(error);
      if (tornTail) {
        this.#tail.offset = size; // the tailer must not read the torn line as another process's
        this.#journal.endTornLine(); // the torn line stays: the first append ends it
      }
    }
    this.#timers = [setInterval(() => void this.#entries.sweep(), SWEEP_INTERVAL_MS), setInterval(() => void this.#follow(), TAIL_INTERVAL_MS)];
    for (const timer of this.#timers) timer.unref();
  }

  /** Other processes' lines are read by the tailer between compactions, and by a compaction at its swap. */
  async #follow(): Promise<void> {
    if (!this.#compaction.underway) await this.#tail.follow();
  }

  async catchUp(): Promise<void> {
    // A read starts only when neither a compaction (which applies other processes' lines at its swap,
    // and resets the tailer's offset) nor another read (which may have looked at the file too early)
    // is under way; checked and started in one turn, as no compaction starts while the tailer reads.
    for (;;) {
      const busy = this.#compaction.underway ?? this.#tail.inFlight;
      if (!busy) return this.#tail.follow();
      await busy;
    }
  }

  /** A line read back from the journal: `entry` is what it leaves the key with (undefined: deleted or expired). */
  #applyReplayed(namespace: string, key: string, entry: Entry | undefined, mode: ReplayMode): void {
    if (entry) this.#entries.set(namespace, key, entry);
    else this.#entries.remove(namespace, key);
    if (mode === 'tail' || mode === 'reread') {
      this.#unsettled.overtaken(unsettledKey(namespace, key));
      // A CLI catching up only reads: its copy of a server line, appended after the server changed
      // the key again, would be taken by the server as the newer value (a session, a used code's step).
      if (this.#owner) this.#echo(namespace, key, entry);
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

  async #write(line: string): Promise<void> {
    this.#compaction.lineAppended();
    await this.#journal.append(line);
    if (this.#owner && !this.#tail.running) this.#compaction.startIfDue();
  }

  async get<T>(namespace: string, key: string): Promise<T | undefined> {
    const entry = this.#entries.live(namespace, key);
    return entry ? (JSON.parse(entry.json) as T) : undefined;
  }

  async set<T>(namespace: string, key: string, value: T, options: SetOptions = {}): Promise<void> {
    await this.#put(namespace, key, JSON.stringify(value), options);
  }

  async #put(namespace: string, key: string, json: string, options: SetOptions): Promise<void> {
    const durable = options.durable !== false;
    const expiresAt = options.ttlSeconds !== undefined ? this.#clock.now() + options.ttlSeconds * 1000 : undefined;
    const previous = this.#entries.held(namespace, key);
    const entry: Entry = { json, expiresAt, durable };
    this.#entries.set(namespace, key, entry);
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
      if (onDisk) this.#entries.set(namespace, key, onDisk);
      else this.#entries.remove(namespace, key);
    });
  }

  async delete(namespace: string, key: string): Promise<void> {
    const entry = this.#entries.remove(namespace, key);
    if (entry?.durable) await this.#change(namespace, key, entry, undefined, deleteLine(this.#writer, namespace, key));
  }

  async consume<T>(namespace: string, key: string): Promise<T | undefined> {
    const entry = this.#entries.live(namespace, key);
    if (!entry) return undefined;
    this.#entries.remove(namespace, key);
    if (entry.durable) await this.#change(namespace, key, entry, undefined, deleteLine(this.#writer, namespace, key));
    return JSON.parse(entry.json) as T;
  }

  async compareAndSet<T>(namespace: string, key: string, expected: T | undefined, next: T, options: SetOptions = {}): Promise<boolean> {
    // Check and write happen in the same synchronous turn, so no other caller can interleave.
    const current = this.#entries.live(namespace, key);
    const expectedJson = expected === undefined ? undefined : JSON.stringify(expected);
    if ((current?.json ?? undefined) !== expectedJson) return false;
    await this.#put(namespace, key, JSON.stringify(next), options);
    return true;
  }

  async entries<T>(namespace: string): Promise<Array<[string, T]>> {
    const out: Array<[string, T]> = [];
    for (const key of this.#entries.keys(namespace)) {
      const entry = this.#entries.live(namespace, key);
      if (entry) out.push([key, JSON.parse(entry.json) as T]);
    }
    return out;
  }

  async count(namespace: string): Promise<number> {
    return (await this.entries(namespace)).length;
  }

  /** Plaintext lines refused since open: written into a sealed journal without the key (see JournalReplay). */
  get plaintextLinesRefused(): number {
    return this.#replay.plaintextLinesRefused;
  }

  /** How many damaged lines open found (their text is in `rejectedPath`). */
  get rejectedLines(): number {
    return this.#replay.rejectedLines;
  }

  get rejectedPath(): string {
    return this.#replay.rejectedPath;
  }

  /** Namespaces held in memory (diagnostics: an emptied namespace must not stay behind). */
  get namespaceCount(): number {
    return this.#entries.namespaceCount;
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    await this.#compaction.underway;
    await this.#journal.close();
  }
}
