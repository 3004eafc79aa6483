import Provider, { type AdapterPayload, type KoaContextWithOIDC } from 'oidc-provider';
import type { KvAdapter } from './adapter.ts';
import type { SsoLinks } from './sso-links.ts';
import type { ClientRevocations } from './client-revocations.ts';
import { DelegatingAdapter } from './delegating-adapter.ts';
import { placesAsLoaded, withPlacesMerged } from './served-clients.ts';

/**
 * The adapter of oidc-provider's Session model. A signed-in provider session is only returned while
 * the Stepgate SSO session it mirrors is alive. Every reader goes through here (the cookie lookup of
 * the authorization and logout endpoints, and the session binding check of codes, access and refresh
 * tokens), so none of them can outlive a Stepgate logout or timeout. A session refused because its
 * SSO session ended is left as it is, not destroyed: the logout that ended it may not have told its
 * clients yet (backchannel-logout.ts reads it and its link to do so, then removes both); after a
 * timeout the sweep of ended sessions removes it (ended-session-sweep.ts). A removed client's place
 * in the session is left out (ClientRevocations): registered again, the client starts afresh, with
 * a new grant and sid. A client's place is stored only once it was issued a code, and a save keeps
 * the places other requests of the same browser stored meanwhile (served-clients.ts).
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
    if (backing === 'backed') return payload.authorizations ? { ...payload, authorizations: placesAsLoaded(await this.#revocations.kept(payload.authorizations), payload.authorizations) } : payload;
    // Linked to another person's SSO session: nobody must ever be told about it, nor use it.
    if (backing === 'other-account') {
      await this.inner.destroy(String(payload.jti));
      await this.#links.delete(String(payload.uid));
    }
    return undefined;
  }

  /**
   * Merged with the session as stored now (by uid: after a cookie id rotation the stored session has
   * another id), read and written with no other save of the same session in between.
   */
  override upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    // oidc-provider's Session model gives every session a uid when it is made.
    const uid = payload.uid!;
    const ctx = Provider.ctx;
    return oneSaveAtATime(uid, async () => {
      const stored = (await this.inner.findByUid(uid)) ?? (ctx && rotatedAway.get(ctx));
      await this.inner.upsert(id, withPlacesMerged(payload, stored), expiresIn);
    });
  }

  /**
   * Leaves the link alone: oidc-provider destroys the old id each time it rotates a session's cookie id
   * (same uid: at a sign-in, at a logout of one client) and then saves the session under the new one.
   * A place another request saved under the old id meanwhile would go with it, so the session as
   * destroyed is kept for that save.
   */
  override async destroy(id: string): Promise<void> {
    const ctx = Provider.ctx;
    const session = ctx?.oidc.session as (KoaContextWithOIDC['oidc']['session'] & { oldId?: string }) | undefined;
    if (!ctx || session?.oldId !== id) return this.inner.destroy(id);
    await oneSaveAtATime(session.uid, async () => {
      const left = await this.inner.find(id);
      if (left) rotatedAway.set(ctx, left);
      await this.inner.destroy(id);
    });
  }
}

/** The session a request's cookie id rotation destroyed, by request: for the save under the new id that follows. */
const rotatedAway = new WeakMap<KoaContextWithOIDC, AdapterPayload>();

/**
 * Saves of one provider session under way, by uid: a save reads the stored session and writes the
 * merge, and no other save of it may land in between. One process writes provider sessions (the
 * server holds the data directory's lock; the CLI only reads them), so waiting here is
 * enough; different sessions never wait for each other. Module-wide, so that the provider rebuilt by
 * a key rotation and the one still finishing requests take turns too.
 */
const saving = new Map<string, Promise<void>>();

async function oneSaveAtATime(uid: string, save: () => Promise<void>): Promise<void> {
  const mine = (saving.get(uid) ?? Promise.resolve()).then(save);
  const settled = mine.catch(() => undefined);
  saving.set(uid, settled);
  try {
    await mine;
  } finally {
    if (saving.get(uid) === settled) saving.delete(uid);
  }
}
