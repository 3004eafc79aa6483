import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Collection, CollectionOptions, CollectionWrite, Store } from './store.ts';
import { LowdbCollections } from './lowdb-collections.ts';
import { JournalKeyValue } from './journal-kv.ts';
import { FileAuditLog } from './audit-file.ts';
import type { Clock } from '../core/clock.ts';

/** The embedded default store: everything under one data directory, no external service. */
export class LowdbStore implements Store {
  readonly kv: JournalKeyValue;
  readonly audit: FileAuditLog;
  readonly #collections: LowdbCollections;
  readonly #dataDir: string;

  /** `owner: false` for the admin CLI: it appends to the journal but leaves compaction to the server. */
  constructor(dataDir: string, clock: Clock, options: { owner: boolean } = { owner: true }) {
    this.#dataDir = dataDir;
    this.#collections = new LowdbCollections(join(dataDir, 'db.json'));
    this.kv = new JournalKeyValue(join(dataDir, 'kv.journal'), clock, options);
    this.audit = new FileAuditLog(join(dataDir, 'audit.log'), clock);
  }

  /** True when no data directory content exists yet (first start). */
  static isFresh(dataDir: string): boolean {
    return !existsSync(join(dataDir, 'db.json'));
  }

  async open(): Promise<this> {
    await mkdir(this.#dataDir, { recursive: true, mode: 0o700 });
    await this.#collections.open();
    await this.kv.open();
    await this.audit.open();
    return this;
  }

  collection<T extends { id: string }>(name: string, options?: CollectionOptions<T>): Collection<T> {
    return this.#collections.collection<T>(name, options);
  }

  putAll(writes: readonly CollectionWrite[]): Promise<void> {
    return this.#collections.putAll(writes);
  }

  async startupCheck(): Promise<void> {
    await this.collection('health').list();
  }

  reopenLogs(): Promise<void> {
    return this.audit.reopen();
  }

  async close(): Promise<void> {
    await this.kv.close();
    await this.audit.close();
  }
}
