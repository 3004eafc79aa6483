import { existsSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import type { Collection, CollectionOptions, CollectionWrite } from './store.ts';
import { FileLock } from './file-lock.ts';
import { DataDirectoryError } from './data-directory-error.ts';

type Document = { version: number; collections: Record<string, Record<string, unknown>> };

const RELOAD_CHECK_MS = 1000;

/**
 * Each stored record's JSON, made once: a record object is never changed in place (a put stores a new
 * one, a reload replaces them all), so its text stays valid for as long as the object lives.
 */
const jsonOfRecord = new WeakMap<object, string>();

/** A private copy for the caller, as the file would give it back: parsing cached JSON costs a fraction of structuredClone. */
function copyOf<T>(record: T | undefined): T | undefined {
  if (record === undefined) return undefined;
  let json = jsonOfRecord.get(record as object);
  if (json === undefined) {
    json = JSON.stringify(record);
    jsonOfRecord.set(record as object, json);
  }
  return JSON.parse(json) as T;
}

/**
 * A record by id, own properties only: ids come from outside (a SAML Issuer, a query parameter), and
 * "__proto__" or "constructor" must find nothing rather than what every object inherits.
 */
function ownRecord<T>(records: Record<string, T>, id: string): T | undefined {
  return Object.hasOwn(records, id) ? records[id] : undefined;
}

/** Stores under the id as a plain own property: assigning to records["__proto__"] would replace the object's prototype instead. */
function setRecord<T>(records: Record<string, T>, id: string, record: T): void {
  Object.defineProperty(records, id, { value: record, writable: true, enumerable: true, configurable: true });
}

/**
 * Admin-written records in one lowdb JSON file. The file is re-read when another process (the CLI)
 * changed it, so `npm run cli -- sp add` reaches a running server within a second.
 */
export class LowdbCollections {
  readonly #db: Low<Document>;
  readonly #path: string;
  /** Where lowdb (steno) writes the new file before renaming it over db.json. */
  readonly #temporaryPath: string;
  #mtimeMs = 0;
  #checkedAt = 0;
  /** Read-change-write cycles run one after another; concurrent puts would otherwise overwrite each other. */
  #writes: Promise<void> = Promise.resolve();
  /** The same between processes (the server and the CLI): lowdb also writes through one shared temp file name. */
  readonly #lock: FileLock;
  /** Bumped whenever the document may have changed (re-read, or written here): the lookup indexes are rebuilt after it. */
  #generation = 0;
  readonly #indexes = new Map<string, { generation: number; ids: Map<string, string> }>();

  constructor(path: string) {
    this.#path = path;
    this.#temporaryPath = join(dirname(path), `.${basename(path)}.tmp`);
    this.#lock = new FileLock(`${path}.lock`);
    this.#db = new Low<Document>(new JSONFile<Document>(path), { version: 1, collections: {} });
  }

  async open(): Promise<void> {
    await this.#lock.hold(async () => {
      // Left by a write that failed or was killed; every writer holds this lock, so none is using it.
      await rm(this.#temporaryPath, { force: true });
      const empty = this.#db.data;
      await this.#read();
      if (!existsSync(this.#path)) await this.#db.write();
      // lowdb keeps its empty default when the file holds null: written back, it would replace every record.
      else if (this.#db.data === empty) throw this.#unusable('it holds no data');
    });
    this.#mtimeMs = (await stat(this.#path)).mtimeMs;
    this.#checkedAt = Date.now();
  }

  /** Reads the file; one that is not Stepgate's document (cut short, emptied, edited by hand) stops here, named, and is never written over. */
  async #read(): Promise<void> {
    try {
      await this.#db.read();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') throw await this.#notReadable((error as Error).message);
      throw this.#unusable((error as Error).message);
    }
    const data = this.#db.data as unknown;
    const isDocument = typeof data === 'object' && data !== null && typeof (data as Document).collections === 'object' && (data as Document).collections !== null;
    if (!isDocument) throw this.#unusable('it is not a Stepgate data file');
  }

  /**
   * A file this process may not read is whole: most often another user wrote it (the CLI run as root
   * on the service's directory), and a backup would throw away every change since it was taken.
   */
  async #notReadable(why: string): Promise<DataDirectoryError> {
    const owner = await stat(this.#path).then((file) => file.uid, () => undefined);
    const whose = owner === undefined ? '' : ` It belongs to user id ${owner}, and this process runs as user id ${process.getuid?.() ?? 'unknown'}.`;
    return new DataDirectoryError(`${this.#path} cannot be read: ${why}.${whose} Give it back to the user the server runs as (e.g. chown stepgate:stepgate ${this.#path}); do not restore a backup, the file is whole.`);
  }

  #unusable(why: string): DataDirectoryError {
    return new DataDirectoryError(`${this.#path} cannot be used: ${why}. Restore it from your backup (the journal and the audit log beside it are kept as they are).`);
  }

  /** `force`: look at the file now, not only once a second (a miss may be a record another process just wrote). */
  async #fresh(force = false): Promise<Document> {
    if (force || Date.now() - this.#checkedAt >= RELOAD_CHECK_MS) {
      this.#checkedAt = Date.now();
      const { mtimeMs } = await stat(this.#path);
      if (mtimeMs !== this.#mtimeMs) {
        await this.#read();
        this.#mtimeMs = mtimeMs;
        this.#generation += 1;
      }
    }
    return this.#db.data;
  }

  /**
   * For readiness checks: db.json can be read now. Reads go through a copy checked once a second, and
   * a re-read that failed leaves that copy in place, so they would answer from it for up to a second.
   */
  async check(): Promise<void> {
    await this.#fresh(true);
  }

  #mutate(change: (document: Document) => void): Promise<void> {
    const run = this.#writes.then(() =>
      this.#lock.hold(async () => {
        await this.#db.read(); // merge with writes made by other processes since our last read
        this.#generation += 1;
        change(this.#db.data);
        try {
          await this.#db.write();
        } catch (error) {
          await this.#undo().catch(() => undefined); // the write's error is the one to report
          throw error;
        }
        this.#mtimeMs = (await stat(this.#path)).mtimeMs;
      }),
    );
    this.#writes = run.catch(() => undefined);
    return run;
  }

  /**
   * After a failed write (a full disk): memory goes back to the file, which is whole (lowdb writes a
   * temporary file and renames it), so the change refused to the user is not served as done until a
   * restart. Re-read only on this rare path: keeping a copy for every write would cost a copy of
   * the whole document (thousands of enrolments) each time.
   */
  async #undo(): Promise<void> {
    this.#mtimeMs = -1; // should the re-read below fail too, the next read looks at the file again
    await this.#read();
    this.#generation += 1;
    await rm(this.#temporaryPath, { force: true }); // what was written of it holds space a full disk needs
  }

  /** The id each lookup key leads to, built once per generation of the document (admin writes are rare; sign-ins look up often). */
  #index<T extends { id: string }>(name: string, records: Record<string, T>, lookupKeys: (item: T) => Array<string | undefined>): Map<string, string> {
    const cached = this.#indexes.get(name);
    if (cached?.generation === this.#generation) return cached.ids;
    const ids = new Map<string, string>();
    const perRecord = Object.values(records).map((record) => ({ id: record.id, keys: lookupKeys(record) }));
    const width = perRecord.reduce((widest, { keys }) => Math.max(widest, keys.length), 0);
    // Position by position, each key kept by the first record claiming it: position 0 (usernames) before 1 (emails).
    for (let position = 0; position < width; position += 1) {
      for (const { id, keys } of perRecord) {
        const key = keys[position];
        if (key !== undefined && !ids.has(key)) ids.set(key, id);
      }
    }
    this.#indexes.set(name, { generation: this.#generation, ids });
    return ids;
  }

  /** Every write in one read-change-write of the file, under its lock: lowdb replaces the file whole, so it holds all of them or none. */
  putAll(writes: readonly CollectionWrite[]): Promise<void> {
    return this.#mutate((document) => {
      // Copied before the first change: a record that cannot be copied must not leave the others half applied.
      const copies = writes.map(({ collection, item }) => ({ collection, item: structuredClone(item) }));
      for (const { collection, item } of copies) setRecord((document.collections[collection] ??= {}), item.id, item);
    });
  }

  collection<T extends { id: string }>(name: string, options: CollectionOptions<T> = {}): Collection<T> {
    const records = (document: Document) => (document.collections[name] ??= {}) as Record<string, T>;
    const lookupIn = (document: Document, key: string): T | undefined => {
      if (!options.lookupKeys) throw new Error(`collection ${name} has no lookup keys`);
      const all = records(document);
      const id = this.#index(name, all, options.lookupKeys).get(key);
      return id === undefined ? undefined : ownRecord(all, id);
    };
    return {
      get: async (id) => copyOf(ownRecord(records(await this.#fresh()), id) ?? ownRecord(records(await this.#fresh(true)), id)),
      lookup: async (key) => copyOf(lookupIn(await this.#fresh(), key) ?? lookupIn(await this.#fresh(true), key)),
      list: async () => Object.values(records(await this.#fresh())).map((record) => copyOf(record)!),
      put: (item) => this.#mutate((document) => setRecord(records(document), item.id, structuredClone(item))),
      update: async (id, change) => {
        let updated = false;
        await this.#mutate((document) => {
          const current = ownRecord(records(document), id);
          if (current === undefined) return;
          setRecord(records(document), id, structuredClone(change(copyOf(current)!)));
          updated = true;
        });
        return updated;
      },
      remove: async (id) => {
        let removed = false;
        await this.#mutate((document) => {
          removed = Object.hasOwn(records(document), id);
          delete records(document)[id];
        });
        return removed;
      },
    };
  }
}
