import { chmod, mkdir, stat } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../core/log.ts';
import type { Collection, CollectionOptions, CollectionWrite, Store } from './store.ts';
import { LowdbCollections } from './lowdb-collections.ts';
import { JournalKeyValue } from './journal-kv.ts';
import type { JournalSealer } from './journal-sealer.ts';
import { DataDirectoryError } from './data-directory-error.ts';
import { FileAuditLog } from './audit-file.ts';
import { ThrottledAuditLog } from './audit-throttle.ts';
import { PRIVATE_FILE_MODE } from './append-file.ts';
import type { Clock } from '../core/clock.ts';
import { unusableDataDir } from './server-lock.ts';

function nonEmpty(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}

/** Only this user may list or enter the data directory. */
const PRIVATE_DIR_MODE = 0o700;

/**
 * How long one journal append proves the journal writable to readiness checks. A load balancer probes
 * every second or more often, and a line per probe filled the journal (86,400 lines a day for one
 * prober); a full disk still fails the check within this time.
 */
const JOURNAL_PROBE_REUSE_MS = 5_000;

/** The embedded default store: everything under one data directory, no external service. */
export class LowdbStore implements Store {
  readonly kv: JournalKeyValue;
  readonly audit: ThrottledAuditLog;
  readonly #collections: LowdbCollections;
  readonly #dataDir: string;
  readonly #logger: Logger | undefined;
  readonly #clock: Clock;
  #journalProbe: { at: number; done: boolean; result: Promise<void> } | undefined;

  /**
   * `sealer`: seals the journal with the installation's secret key (open throws JournalKeyMismatch
   * when none of the journal's sealed lines opens with it).
   * `owner: false` for the admin CLI: it appends to the journal but leaves compaction to the server.
   * `logger`: where a data directory readable by others is reported when it is made private.
   * `auditClientOf`: whose failures share one audit cap (see ThrottledAuditLog); each address apart without it.
   */
  constructor(dataDir: string, clock: Clock, options: { sealer: JournalSealer; owner?: boolean; logger?: Logger; auditClientOf?: (ip: string) => string }) {
    // Normalized once, as path.join does for the files: given as is to mkdir and chmod, `link/..` is
    // resolved by the kernel through the link, and the directory made private was not the one written in.
    this.#dataDir = resolve(dataDir);
    this.#logger = options.logger;
    this.#clock = clock;
    this.#collections = new LowdbCollections(join(this.#dataDir, 'db.json'));
    this.kv = new JournalKeyValue(join(this.#dataDir, 'kv.journal'), clock, { sealer: options.sealer, owner: options.owner, logger: options.logger });
    // Failures from one client IP are capped per minute: a flood without credentials filled the disk.
    this.audit = new ThrottledAuditLog(new FileAuditLog(join(this.#dataDir, 'audit.log'), clock), clock, { clientOf: options.auditClientOf });
  }

  /**
   * True when no data directory content exists yet (first start). Throws when db.json is gone but the
   * journal or the audit log show the directory was used: starting anew would make new signing keys
   * and a new administrator over the old sessions, and lose every user and relying party without a word.
   */
  static isFresh(dataDir: string): boolean {
    if (existsSync(join(dataDir, 'db.json'))) return false;
    const used = ['kv.journal', 'audit.log'].filter((name) => nonEmpty(join(dataDir, name)));
    if (used.length > 0) {
      throw new DataDirectoryError(
        `${join(dataDir, 'db.json')} is missing, but ${used.join(' and ')} ${used.length === 1 ? 'shows' : 'show'} this data directory has been used. Restore db.json from your backup; to start a new installation instead, move the directory away first.`,
      );
    }
    return true;
  }

  /**
   * `checkKey`: runs once db.json is read and before the journal is opened, which the owner rewrites
   * sealed: a journal of an earlier version (plaintext) opened with a wrong key would be sealed with
   * it, and then not open with the right one.
   */
  async open(options: { checkKey?: () => Promise<void> } = {}): Promise<this> {
    // lowdb writes db.json as a new temporary file renamed over it, created with the mode the umask
    // leaves; so every file this process creates is private to its user (as PostgreSQL does).
    process.umask(0o077);
    // The server names these before it opens the store (server-lock.ts); the CLI and tools reach them here.
    await this.#makeDataDirPrivate().catch((error: NodeJS.ErrnoException) => {
      throw error.code ? unusableDataDir(this.#dataDir, error) : error;
    });
    await this.#collections.open().catch((error: NodeJS.ErrnoException) => {
      throw error.code ? unusableDataDir(this.#dataDir, error) : error;
    });
    await chmod(join(this.#dataDir, 'db.json'), PRIVATE_FILE_MODE); // created by an older version, or by hand
    await options.checkKey?.();
    await this.#opening('kv.journal', () => this.kv.open());
    // Created by an older version, or copied with a looser mode: its lines are sealed, but private like the journal.
    await chmod(this.kv.rejectedPath, PRIVATE_FILE_MODE).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    if (this.kv.plaintextLinesRefused > 0) {
      this.#logger?.error({ event: 'store.journal.plaintext-refused', lines: this.kv.plaintextLinesRefused, keptIn: this.kv.rejectedPath }, 'the sealed journal held plaintext lines, written without the key (by hand, or by a CLI of an earlier version): refused');
    }
    if (this.kv.rejectedLines > 0) {
      this.#logger?.error({ event: 'store.journal.damaged', lines: this.kv.rejectedLines, keptIn: this.kv.rejectedPath }, 'the journal had damaged lines; their entries are missing (sessions, locks, replay markers): the lines are kept for inspection');
    }
    await this.#opening('audit.log', () => this.audit.open());
    return this;
  }

  /** A file that cannot be opened (a directory in its place, no permission) is named with its path; the errno message alone named neither. */
  async #opening(file: string, open: () => Promise<void>): Promise<void> {
    try {
      await open();
    } catch (error) {
      if (error instanceof DataDirectoryError || !(error as NodeJS.ErrnoException).code) throw error;
      throw new DataDirectoryError(`${join(this.#dataDir, file)} cannot be used: ${(error as Error).message}`);
    }
  }

  /** A directory that already existed (a Docker volume, systemd's StateDirectory=) often comes with 0755. */
  async #makeDataDirPrivate(): Promise<void> {
    await mkdir(this.#dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    const mode = (await stat(this.#dataDir)).mode & 0o777;
    if ((mode & ~PRIVATE_DIR_MODE) === 0) return;
    const log = { event: 'store.data-dir.private', dataDir: this.#dataDir, mode: mode.toString(8) };
    try {
      await chmod(this.#dataDir, PRIVATE_DIR_MODE);
    } catch (error) {
      // Not this user's directory: the files in it are private all the same, so starting is still safe.
      this.#logger?.warn({ ...log, error: (error as NodeJS.ErrnoException).code }, 'the data directory is open to other users and could not be made private (0700)');
      return;
    }
    this.#logger?.warn(log, 'the data directory was open to other users; made it private (0700)');
  }

  collection<T extends { id: string }>(name: string, options?: CollectionOptions<T>): Collection<T> {
    return this.#collections.collection<T>(name, options);
  }

  putAll(writes: readonly CollectionWrite[]): Promise<void> {
    return this.#collections.putAll(writes);
  }

  /**
   * Both files can be used: db.json is read, the journal is still at its path (a data directory removed
   * or unmounted under the server fails at once), and a line reaches the journal (the append every
   * sign-in waits for), appended at most once every JOURNAL_PROBE_REUSE_MS and its answer reused.
   */
  async startupCheck(): Promise<void> {
    await this.#collections.check();
    await stat(join(this.#dataDir, 'kv.journal'));
    const now = this.#clock.now();
    const probe = this.#journalProbe;
    // A probe still under way is shared, however old: one stalled append must not pile up others behind it.
    if (probe && (!probe.done || now - probe.at < JOURNAL_PROBE_REUSE_MS)) return probe.result;
    const next = { at: now, done: false, result: this.kv.set('health', 'probe', now, { ttlSeconds: 60 }) };
    next.result.then(
      () => (next.done = true),
      () => (next.done = true),
    );
    this.#journalProbe = next;
    return next.result;
  }

  reopenLogs(): Promise<void> {
    return this.audit.reopen();
  }

  async close(): Promise<void> {
    await this.kv.close();
    await this.audit.close();
  }
}
