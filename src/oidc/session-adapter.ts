import type { AdapterPayload } from 'oidc-provider';
import type { KvAdapter } from './adapter.ts';
import type { SsoLinks } from './sso-links.ts';
import type { ClientRevocations } from './client-revocations.ts';
import { DelegatingAdapter } from './delegating-adapter.ts';
import { withServedPlacesOnly } from './served-clients.ts';

/**
 * The adapter of oidc-provider's Session model. A signed-in provider session is only returned while
 * the Stepgate SSO session it mirrors is alive. Every reader goes through here (the cookie lookup of
 * the authorization and logout endpoints, and the session binding check of codes, access and refresh
 * tokens), so none of them can outlive a Stepgate logout or timeout. A session refused because its
 * SSO session ended is left as it is, not destroyed: the logout that ended it may not have told its
 * clients yet (backchannel-logout.ts reads it and its link to do so, then removes both); after a
 * timeout the sweep of ended sessions removes it (ended-session-sweep.ts). A removed client's place
 * in the session is left out (ClientRevocations): registered again, the client starts afresh, with
 * a new grant and sid. A client's place is stored only once it was issued a code (served-clients.ts).
 */
export class SessionAdapter extends DelegatingAdapter {
  readonly #links: SsoLinks;
  readonly #revocations: ClientRevocations;

  constructor(inner: KvAdapter, links: SsoLinks, revocations: ClientRevocations) {
    super(inner);
    this.#links = links;
    this.#revocations = revocations;
  }

  override async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#backed(await this.inner.find(id));
  }

  override async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const payload = await this.inner.findByUid(uid);
    return payload && this.#backed(payload);
  }

  async #backed(payload: AdapterPayload | undefined): Promise<AdapterPayload | undefined> {
    // A session nobody signed in to yet (logout state only) mirrors nothing.
    if (!payload?.accountId) return payload;
    const backing = payload.uid ? await this.#links.backing(payload.uid, payload.accountId) : 'unlinked';
    if (backing === 'backed') return payload.authorizations ? { ...payload, authorizations: await this.#revocations.kept(payload.authorizations) } : payload;
    // Linked to another person's SSO session: nobody must ever be told about it, nor use it.
    if (backing === 'other-account') {
      await this.inner.destroy(String(payload.jti));
      await this.#links.delete(String(payload.uid));
    }
    return undefined;
  }

  override upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    return this.inner.upsert(id, withServedPlacesOnly(payload), expiresIn);
  }

  /** Leaves the link alone: oidc-provider destroys the old id each time it rotates a session's cookie id (same uid). */
  override destroy(id: string): Promise<void> {
    return this.inner.destroy(id);
  }
}
