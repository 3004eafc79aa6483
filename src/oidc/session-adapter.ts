import Provider, { type AdapterPayload, type ClientAuthorizationState, type KoaContextWithOIDC } from 'oidc-provider';
import type { KvAdapter } from './adapter.ts';
import type { SsoLinks } from './sso-links.ts';
import type { ClientRevocations } from './client-revocations.ts';
import { DelegatingAdapter } from './delegating-adapter.ts';
import { placesAsLoaded, withPlacesMerged } from './served-clients.ts';
import { grantIdsOf } from './session-grants.ts';
import { oneTurnAtATime } from './session-turns.ts';

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
  readonly #hasSsoSession: HasSsoSession;

  constructor(inner: KvAdapter, links: SsoLinks, revocations: ClientRevocations, hasSsoSession: HasSsoSession = async () => true) {
    super(inner);
    this.#links = links;
    this.#revocations = revocations;
    this.#hasSsoSession = hasSsoSession;
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
   * another id), read and written with no other save or end of the same session in between. A session
   * that ended meanwhile (a logout while this request was under way) is not stored again: the write
   * is dropped, and what this request issued from its places is revoked with their grants.
   */
  override async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    // oidc-provider's Session model gives every session a uid when it is made.
    const uid = payload.uid!;
    const ctx = Provider.ctx;
    if (!payload.accountId && !(await this.#confirmsSignOut(payload, ctx))) return;
    return oneTurnAtATime(uid, async () => {
      if (await this.#links.ended(uid)) {
        if (ctx) await revokeInRequest(ctx, grantIdsOf(payload));
        return;
      }
      const stored = (await this.inner.findByUid(uid)) ?? (ctx && rotatedAway.get(ctx));
      await this.inner.upsert(id, withPlacesMerged(payload, stored), expiresIn);
    });
  }

  /**
   * A session nobody signed in to is kept only to carry a sign-out's confirmation (its xsrf secret)
   * in a browser with a Stepgate SSO session to end (session-sync.ts asks there; any other sign-out
   * is answered at once). oidc-provider would store one for every sign-out request of a browser
   * signed in nowhere, and for every request carrying the cookie of a session gone since: records
   * anyone could add by the million, each kept for the SSO session's lifetime.
   */
  async #confirmsSignOut(payload: AdapterPayload, ctx: KoaContextWithOIDC | undefined): Promise<boolean> {
    if (!payload.state) return false;
    return !ctx || this.#hasSsoSession(ctx);
  }

  /**
   * oidc-provider destroys the old id each time it rotates a session's cookie id (same uid: at a
   * sign-in, at a logout of one client) and then saves the session under the new one: the link is
   * left alone, and since a place another request saved under the old id meanwhile would go with it,
   * the session as destroyed is kept for that save. The request's own session destroyed otherwise is
   * a relying party's "sign out everywhere": the session ends, its uid marked ended, whatever id it
   * is stored under now, and the places other requests stored since oidc-provider loaded it (clients
   * it was not going to tell nor revoke) are revoked here and told (untoldPlaces, session-sync.ts).
   */
  override async destroy(id: string): Promise<void> {
    const ctx = Provider.ctx;
    const session = ctx?.oidc.session as (KoaContextWithOIDC['oidc']['session'] & { oldId?: string }) | undefined;
    // Only a request ends its own session: any other destroy removes that id alone.
    if (!ctx || !session) return this.inner.destroy(id);
    if (session.oldId === id) {
      await oneTurnAtATime(session.uid, async () => {
        const left = await this.inner.find(id);
        if (left) rotatedAway.set(ctx, left);
        await this.inner.destroy(id);
      });
      return;
    }
    if (session.jti !== id) return this.inner.destroy(id);
    const { uid } = session;
    await oneTurnAtATime(uid, async () => {
      const stored = await this.inner.findByUid(uid);
      await this.#links.end(uid);
      await this.inner.destroy(id);
      if (!stored) return;
      if (stored.jti !== id) await this.inner.destroy(String(stored.jti));
      const known = Object.values(session.authorizations ?? {});
      const places = Object.entries((stored.authorizations ?? {}) as Record<string, ClientAuthorizationState>);
      const revoked = new Set(known.map(({ grantId }) => grantId));
      await revokeInRequest(ctx, grantIdsOf(stored).filter((grantId) => !revoked.has(grantId)));
      // oidc-provider told each client of its copy with the sid the copy had.
      const told = new Set(known.map(({ sid }) => sid));
      const untold = places.filter(([, { sid }]) => !told.has(sid));
      if (untold.length) endedUntold.set(ctx, { ...stored, authorizations: Object.fromEntries(untold) });
    });
  }
}

/** Whether the browser of a request has a Stepgate SSO session a sign-out would end (one idle past its timeout too). */
export type HasSsoSession = (ctx: KoaContextWithOIDC) => Promise<boolean>;

/** The session a request's cookie id rotation destroyed, by request: for the save under the new id that follows. */
const rotatedAway = new WeakMap<KoaContextWithOIDC, AdapterPayload>();

/** The session a request ended, with only the places its own copy lacked, by request: for its Logout Tokens (session-sync.ts). */
const endedUntold = new WeakMap<KoaContextWithOIDC, AdapterPayload>();

/** Of the session this request ended, the places oidc-provider did not know of when it told the clients and revoked their grants. */
export function untoldPlaces(ctx: KoaContextWithOIDC): AdapterPayload | undefined {
  return endedUntold.get(ctx);
}

/** As oidc-provider's own revocation of a grant at a logout: the grant and every code and token issued from it. */
async function revokeInRequest(ctx: KoaContextWithOIDC, grantIds: readonly string[]): Promise<void> {
  const { provider } = ctx.oidc;
  const issued = [provider.AuthorizationCode, provider.AccessToken, provider.RefreshToken];
  await Promise.all(grantIds.flatMap((grantId) => [...issued.map((model) => model.adapter.revokeByGrantId(grantId)), provider.Grant.adapter.destroy(grantId)]));
}
