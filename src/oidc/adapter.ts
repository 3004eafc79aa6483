import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { KeyValue, SetOptions } from '../store/store.ts';
import type { Clock } from '../core/clock.ts';

/**
 * Models that must survive a restart: a signed-in browser (Session), what it agreed to (Grant) and
 * the tokens relying parties hold. Codes, interactions and replay markers live minutes and are
 * cheap to redo, so they stay in memory (no disk write per sign-in for them).
 */
const DURABLE_MODELS = new Set(['Session', 'Grant', 'AccessToken', 'RefreshToken']);

interface Entry {
  payload: AdapterPayload;
  /** Epoch ms; kept so that consume() can rewrite the entry without extending its life. */
  expiresAt?: number;
}

export interface KvAdapterOptions {
  /**
   * How long a used code or refresh token is kept after its use, at most (its own expiry may come
   * first). It is kept only so that a second use is recognised, which oidc-provider can do only while
   * the token's session lasts: a token bound to an ended session is not found at all.
   */
  keptAfterUseSeconds?: number;
}

/**
 * oidc-provider's Adapter contract on top of Store.kv, one instance per model. Every operation is a
 * constant number of kv writes: secondary lookups (uid, user code, grant) are separate small entries
 * with the same lifetime as the record they point to, never a list that is rewritten.
 */
export class KvAdapter implements Adapter {
  readonly #kv: KeyValue;
  readonly #clock: Clock;
  readonly #name: string;
  readonly #durable: boolean;
  readonly #keptAfterUseMs: number | undefined;

  constructor(kv: KeyValue, clock: Clock, name: string, options: KvAdapterOptions = {}) {
    this.#kv = kv;
    this.#clock = clock;
    this.#name = name;
    this.#durable = DURABLE_MODELS.has(name);
    this.#keptAfterUseMs = options.keptAfterUseSeconds === undefined ? undefined : options.keptAfterUseSeconds * 1000;
  }

  get #records(): string {
    return `oidc:${this.#name}`;
  }

  #index(kind: 'uid' | 'user-code'): string {
    return `oidc-${kind}:${this.#name}`;
  }

  /** One namespace per grant, so revoking a grant reads only that grant's entries. */
  #grantIndex(grantId: string): string {
    return `oidc-grant:${this.#name}:${grantId}`;
  }

  #options(expiresAt: number | undefined): SetOptions {
    const ttlSeconds = expiresAt === undefined ? undefined : Math.max(1, Math.ceil((expiresAt - this.#clock.now()) / 1000));
    return { ttlSeconds, durable: this.#durable };
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const expiresAt = expiresIn ? this.#clock.now() + expiresIn * 1000 : undefined;
    const options = this.#options(expiresAt);
    // Issued together, so the journal's group commit writes the record and its index entries in one append.
    await Promise.all([
      this.#kv.set<Entry>(this.#records, id, { payload, expiresAt }, options),
      payload.grantId && this.#kv.set(this.#grantIndex(payload.grantId), id, true, options),
      payload.uid && this.#kv.set(this.#index('uid'), payload.uid, id, options),
      payload.userCode && this.#kv.set(this.#index('user-code'), payload.userCode, id, options),
    ]);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return (await this.#kv.get<Entry>(this.#records, id))?.payload;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = await this.#kv.get<string>(this.#index('uid'), uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const id = await this.#kv.get<string>(this.#index('user-code'), userCode);
    return id === undefined ? undefined : this.find(id);
  }

  /**
   * Marks a code or refresh token used and keeps it, so a second use is recognised (and revokes the
   * grant), for `keptAfterUseSeconds` at most: a rotated refresh token would otherwise stay for the
   * 14 days its successor gets anew. Its small entry in the grant's index is left as it is, until the
   * grant is revoked (at the latest when its session ends, session-grants.ts): another write on every
   * refresh would cost more than it saves. The check-and-mark is atomic: of two concurrent
   * redemptions exactly one succeeds.
   */
  async consume(id: string): Promise<void> {
    const entry = await this.#kv.get<Entry>(this.#records, id);
    if (!entry) return;
    const now = this.#clock.now();
    const consumed: Entry = { payload: { ...entry.payload, consumed: Math.floor(now / 1000) }, expiresAt: this.#keptAfterUse(entry.expiresAt, now) };
    const won = !entry.payload.consumed && (await this.#kv.compareAndSet(this.#records, id, entry, consumed, this.#options(consumed.expiresAt)));
    if (!won) throw new errors.InvalidGrant('grant already used');
  }

  #keptAfterUse(expiresAt: number | undefined, now: number): number | undefined {
    if (this.#keptAfterUseMs === undefined) return expiresAt;
    return Math.min(expiresAt ?? Infinity, now + this.#keptAfterUseMs);
  }

  async destroy(id: string): Promise<void> {
    const entry = await this.#kv.get<Entry>(this.#records, id);
    await this.#kv.delete(this.#records, id);
    const uid = entry?.payload.uid;
    if (uid && (await this.#kv.get<string>(this.#index('uid'), uid)) === id) await this.#kv.delete(this.#index('uid'), uid);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    const index = this.#grantIndex(grantId);
    for (const [id] of await this.#kv.entries<boolean>(index)) {
      await this.#kv.delete(this.#records, id);
      await this.#kv.delete(index, id);
    }
  }
}
