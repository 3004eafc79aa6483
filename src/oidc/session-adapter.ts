import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { KvAdapter } from './adapter.ts';
import type { SsoLinks } from './sso-links.ts';

/**
 * The adapter of oidc-provider's Session model. A signed-in provider session is only returned while
 * the Stepgate SSO session it mirrors is alive; otherwise it is destroyed on sight. Every reader goes
 * through here (the cookie lookup of the authorization and logout endpoints, and the session binding
 * check of codes, access and refresh tokens), so none of them can outlive a Stepgate logout or timeout.
 */
export class SessionAdapter implements Adapter {
  readonly #inner: KvAdapter;
  readonly #links: SsoLinks;

  constructor(inner: KvAdapter, links: SsoLinks) {
    this.#inner = inner;
    this.#links = links;
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#backed(id, await this.#inner.find(id));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const payload = await this.#inner.findByUid(uid);
    // Session payloads always carry their id (jti): oidc-provider stores it in every model's payload.
    return payload && this.#backed(String(payload.jti), payload);
  }

  async #backed(id: string, payload: AdapterPayload | undefined): Promise<AdapterPayload | undefined> {
    // A session nobody signed in to yet (logout state only) mirrors nothing.
    if (!payload?.accountId) return payload;
    if (payload.uid && (await this.#links.backs(payload.uid, payload.accountId))) return payload;
    await this.#inner.destroy(id);
    if (payload.uid) await this.#links.delete(payload.uid);
    return undefined;
  }

  upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    return this.#inner.upsert(id, payload, expiresIn);
  }

  /** Leaves the link alone: oidc-provider destroys the old id each time it rotates a session's cookie id (same uid). */
  destroy(id: string): Promise<void> {
    return this.#inner.destroy(id);
  }

  consume(id: string): Promise<void> {
    return this.#inner.consume(id);
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#inner.findByUserCode(userCode);
  }

  revokeByGrantId(grantId: string): Promise<void> {
    return this.#inner.revokeByGrantId(grantId);
  }
}
