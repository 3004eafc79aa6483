/**
 * The persistence seam. lowdb + an append-only journal today; Redis/PostgreSQL later implement the same.
 *
 * - `collection(name)`: small, admin-written records (users, relying parties, keys). Writes may rewrite a file.
 * - `kv`: hot per-sign-in state (sessions, transactions, replay markers, oidc-provider models). Every write
 *   is O(1) in the number of stored entries; `durable: false` entries live in memory only.
 * - `audit`: append-only security events.
 */
export interface Store {
  collection<T extends { id: string }>(name: string, options?: CollectionOptions<T>): Collection<T>;
  /**
   * Inserts or replaces records of several collections in one write: afterwards either all of them
   * are stored or, when it fails, none (an import must never leave half its records behind).
   */
  putAll(writes: readonly CollectionWrite[]): Promise<void>;
  readonly kv: KeyValue;
  readonly audit: AuditLog;
  startupCheck(): Promise<void>;
  /** The administrator rotated the log files (SIGHUP): write to new ones at their paths. A store without files does nothing. */
  reopenLogs(): Promise<void>;
  close(): Promise<void>;
}

/** One record for `putAll`: stored in `collection` under `item.id`, as `Collection.put` would. */
export interface CollectionWrite {
  collection: string;
  item: { id: string };
}

export interface CollectionOptions<T> {
  /**
   * Secondary keys of a record (e.g. its lower-cased username and email), for `lookup`. Earlier keys
   * win over later ones when two records share a key: a username beats another user's email.
   * Give the same function every time a collection is opened.
   */
  lookupKeys?: (item: T) => Array<string | undefined>;
}

export interface Collection<T extends { id: string }> {
  get(id: string): Promise<T | undefined>;
  /** The record one of whose `lookupKeys` is `key`: an index, not a scan of every record. */
  lookup(key: string): Promise<T | undefined>;
  list(): Promise<T[]>;
  /** Inserts or replaces by id. */
  put(item: T): Promise<void>;
  /**
   * Changes the record as stored now (re-read under the file's lock, so a concurrent write by another
   * process is not undone); false, and nothing written, when there is no such record any more.
   */
  update(id: string, change: (current: T) => T): Promise<boolean>;
  remove(id: string): Promise<boolean>;
}

export interface SetOptions {
  /** Entry disappears after this many seconds. */
  ttlSeconds?: number;
  /** false: memory only, lost on restart (short-lived artifacts). Default true. */
  durable?: boolean;
}

export interface KeyValue {
  get<T>(namespace: string, key: string): Promise<T | undefined>;
  set<T>(namespace: string, key: string, value: T, options?: SetOptions): Promise<void>;
  delete(namespace: string, key: string): Promise<void>;
  /** Returns the value and removes it in one step: a second consume gets undefined. */
  consume<T>(namespace: string, key: string): Promise<T | undefined>;
  /**
   * Writes `next` only if the current value equals `expected` (deep JSON equality; undefined = absent).
   * Returns whether it wrote. Two concurrent callers with the same `expected` cannot both win.
   */
  compareAndSet<T>(namespace: string, key: string, expected: T | undefined, next: T, options?: SetOptions): Promise<boolean>;
  /** Live entries of a namespace (admin and maintenance use; not on the sign-in path). */
  entries<T>(namespace: string): Promise<Array<[string, T]>>;
  /** Number of live entries in a namespace. */
  count(namespace: string): Promise<number>;
  /**
   * Applies now what other processes (the admin CLI) wrote so far, rather than at the next read of
   * their lines (every half second): for a decision an administrator's command must reach at once.
   */
  catchUp?(): Promise<void>;
}

export interface AuditEvent {
  type: string;
  outcome: 'success' | 'failure' | 'info';
  username?: string;
  userId?: string;
  rp?: string;
  ip?: string;
  method?: string;
  reason?: string;
  requestId?: string;
  [key: string]: unknown;
}

/** An event as stored: with the time it was recorded (ISO 8601, UTC). */
export type StoredAuditEvent = AuditEvent & { at: string };

/** What `AuditLog.query` selects: events that match every field given. */
export interface AuditQuery {
  /** Exact types (`login.password`) or prefixes ending in `*` (`login.*`); an event matches if any one does. */
  types?: readonly string[];
  /** The event's `username` (case-insensitive) or its `userId` (exact). */
  user?: string;
  rp?: string;
  outcome?: AuditEvent['outcome'];
  /** A single IP or a CIDR (IPv4 or IPv6). */
  ip?: string;
  /** Events recorded at or after this time. */
  since?: Date;
  /** Events recorded before this time. */
  until?: Date;
  /** Only the last `limit` matches (a positive integer); without it, every match. */
  limit?: number;
}

export interface AuditQueryResult {
  /** Oldest first. */
  events: StoredAuditEvent[];
  /** Entries that could not be read (torn by a crash, not JSON): counted, so one bad line never hides the rest. */
  skipped: number;
}

export interface AuditLog {
  record(event: AuditEvent): Promise<void>;
  /** Throws `AuditQueryError` for a filter that cannot be applied (an IP that does not parse, a bad limit). */
  query(filter: AuditQuery): Promise<AuditQueryResult>;
}
