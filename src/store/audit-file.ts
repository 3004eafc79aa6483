import { open, type FileHandle } from 'node:fs/promises';
import type { AuditEvent, AuditLog, AuditQuery, AuditQueryResult, StoredAuditEvent } from './store.ts';
import { AppendFile } from './append-file.ts';
import { auditQueryLimit, compileAuditQuery } from './audit-filter.ts';
import type { Clock } from '../core/clock.ts';

/** How every line `record` writes begins: `at` is the first key. */
const RECORD_START = '{"at":"';
const READ_CHUNK_BYTES = 1 << 20;

/** The last `size` items pushed, in order; a push never moves the others (a ring). */
class LastItems<T> {
  readonly #size: number;
  readonly #items: T[] = [];
  #oldest = 0;

  constructor(size: number) {
    this.#size = size;
  }

  push(item: T): void {
    if (this.#items.length < this.#size) this.#items.push(item);
    else {
      this.#items[this.#oldest] = item;
      this.#oldest = (this.#oldest + 1) % this.#size;
    }
  }

  inOrder(): T[] {
    return [...this.#items.slice(this.#oldest), ...this.#items.slice(0, this.#oldest)];
  }
}

/** The event a line holds with its time in ms, or undefined when the line is not one. */
function parseLine(line: string): { event: StoredAuditEvent; at: number } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const event = value as StoredAuditEvent;
  const at = typeof event.at === 'string' ? Date.parse(event.at) : NaN;
  return Number.isNaN(at) || typeof event.type !== 'string' ? undefined : { event, at };
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The audit log as a file of JSON lines, one event per line, appended with group commit. Queries
 * stream the file and keep only the matches they return: the file grows to gigabytes.
 */
export class FileAuditLog implements AuditLog {
  readonly #file: AppendFile;
  readonly #clock: Clock;

  constructor(path: string, clock: Clock) {
    this.#file = new AppendFile(path);
    this.#clock = clock;
  }

  open(): Promise<void> {
    return this.#file.open();
  }

  close(): Promise<void> {
    return this.#file.close();
  }

  /** After the administrator's log rotation renamed the file (SIGHUP): a new audit.log from here on. */
  reopen(): Promise<void> {
    return this.#file.reopen();
  }

  record(event: AuditEvent): Promise<void> {
    return this.#file.append(JSON.stringify({ at: new Date(this.#clock.now()).toISOString(), ...event }));
  }

  async query(filter: AuditQuery): Promise<AuditQueryResult> {
    const matches = compileAuditQuery(filter);
    const last = new LastItems<StoredAuditEvent>(auditQueryLimit(filter));
    let skipped = 0;
    const handle = await openIfExists(this.#file.path);
    if (!handle) return { events: [], skipped };
    try {
      for await (const line of handle.readLines({ encoding: 'utf8', highWaterMark: READ_CHUNK_BYTES })) {
        if (!line) continue;
        let parsed = parseLine(line);
        if (!parsed) {
          skipped += 1;
          // After a crash tore a line, the first event written on restart is glued to its end: keep that one.
          const start = line.lastIndexOf(RECORD_START);
          parsed = start > 0 ? parseLine(line.slice(start)) : undefined;
        }
        if (parsed && matches(parsed.event, parsed.at)) last.push(parsed.event);
      }
    } finally {
      await handle.close();
    }
    return { events: last.inOrder(), skipped };
  }
}
