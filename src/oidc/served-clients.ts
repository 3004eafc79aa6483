import type { AdapterPayload, ClientAuthorizationState, default as Provider, Grant, KoaContextWithOIDC } from 'oidc-provider';
import { saveUnsavedGrant } from './grants.ts';
import type { SsoLinks } from './sso-links.ts';
import { oneTurnAtATime } from './session-turns.ts';

/**
 * A client's place in a provider session (`authorizations[clientId]`: its sid and grant id) is what
 * back-channel logout tells (backchannel-logout.ts, and oidc-provider's own RP-initiated logout),
 * what `session list` names (session-clients.ts) and what the session's grants are found by
 * (session-grants.ts). oidc-provider makes that place as it loads the grant, for every authorization
 * request of a signed-in browser: before Stepgate's login checks and policy have decided anything.
 * So a client the policy refuses, a silent prompt=none request answered with an error, or a sign-in
 * abandoned at its second factor would all be told the user's `sub` at logout. Here a place made
 * for a client the session has not served yet is provisional, and the Session adapter never stores
 * it; it becomes the client's once oidc-provider issues it a code (`authorization.success`), and
 * the grant of that code is written then too, before the answer reaches the client (grants.ts).
 */

/** Marks, in memory only, a place made in this request and not confirmed by a code. */
const PROVISIONAL = 'stepgateProvisional';

type Place = ClientAuthorizationState & { [PROVISIONAL]?: true };

type ProviderSession = NonNullable<KoaContextWithOIDC['oidc']['session']>;

/** Before oidc-provider makes the client's place (loadGrant): a client this session has not served gets a provisional one. */
export function holdPlace(session: ProviderSession, clientId: string): void {
  const existing = session.authorizations?.[clientId] as Place | undefined;
  if (existing?.sid) return;
  session.ensureClientContainer(clientId);
  (session.authorizations![clientId] as Place)[PROVISIONAL] = true;
}

/**
 * The places each loaded session came with, as stored (JSON), keyed by the `authorizations` object
 * handed to oidc-provider: it keeps that object and saves it again, so a save can tell the places its
 * request made, changed or removed from the copies of places it merely loaded.
 */
const asLoaded = new WeakMap<object, Map<string, string>>();

/** The places of a session about to be handed to oidc-provider (`shown`), noted as `stored` held them. */
export function placesAsLoaded(shown: Record<string, ClientAuthorizationState>, stored: Record<string, ClientAuthorizationState>): Record<string, ClientAuthorizationState> {
  asLoaded.set(shown, new Map(Object.entries(stored).map(([clientId, place]) => [clientId, JSON.stringify(place)])));
  return shown;
}

/**
 * The Session adapter's payload as it is stored: without the places no code confirmed, and merged
 * with the session as it is stored now (`stored`, read after the request loaded it). oidc-provider
 * saves the whole session it loaded at the end of every request, so two requests of one browser (two
 * tabs, two clients, at once) would otherwise each write back the session without the other's new
 * place, and the client of the save that lands first would lose its place: not told at logout, not
 * listed, its codes and tokens unbound from the session. A request contributes only what it changed:
 * the places it made or changed, and the removal of places it loaded (oidc-provider's logout of one
 * client, a removed client left out at load); every other place is taken as stored now. Another
 * account's stored session (never the same uid in practice) is not merged from.
 */
export function withPlacesMerged(payload: AdapterPayload, stored: AdapterPayload | undefined): AdapterPayload {
  const own = (payload.authorizations ?? {}) as Record<string, Place>;
  const loaded = asLoaded.get(own);
  // Without a stored session of the account (a new one, a new cookie id) only this request's places are kept.
  const current = stored && stored.accountId === payload.accountId ? ((stored.authorizations ?? {}) as Record<string, Place>) : undefined;
  const places: Record<string, Place> = {};
  for (const clientId of new Set([...Object.keys(current ?? {}), ...Object.keys(own)])) {
    const mine = own[clientId]?.[PROVISIONAL] ? undefined : own[clientId];
    const kept = current ? placeToStore(mine, loaded?.get(clientId), current[clientId]) : mine;
    if (kept) places[clientId] = kept;
  }
  const { authorizations: _all, ...rest } = payload;
  return Object.keys(places).length ? { ...rest, authorizations: places } : rest;
}

/** Of a client's place: this request's copy, the one it loaded (JSON), and the one stored now. */
function placeToStore(mine: Place | undefined, loaded: string | undefined, current: Place | undefined): Place | undefined {
  if (mine && JSON.stringify(mine) !== loaded) return mine;
  // Removed by this request.
  if (!mine && loaded !== undefined) return undefined;
  // Loaded and left as it was, or never seen here: as the other requests left it (also removed).
  return current;
}

/**
 * Koa middleware around oidc-provider's routes, with its listener. A code issued confirms the
 * client's place at once (the session is saved after the answer is built, in the same request), and
 * its grant is written before Koa sends the answer, so the client never holds a code whose grant
 * is not stored. Not when the session ended meanwhile (a logout in another tab): its save was
 * dropped and the grant revoked (session-adapter.ts), and it must not be written again after that.
 */
export function confirmServedPlaces(provider: Provider, links: Pick<SsoLinks, 'ended'>) {
  const issued = new WeakMap<KoaContextWithOIDC, Grant>();
  provider.on('authorization.success', (ctx: KoaContextWithOIDC) => {
    const { session, client, grant } = ctx.oidc;
    const place = session?.authorizations?.[client!.clientId] as Place | undefined;
    if (place) delete place[PROVISIONAL];
    if (grant) issued.set(ctx, grant);
  });
  return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<void> => {
    await next();
    const grant = issued.get(ctx);
    if (!grant) return;
    // A code is issued only with a session: authorization.success comes from the authorization and resume routes.
    const uid = ctx.oidc.session!.uid;
    await oneTurnAtATime(uid, async () => {
      if (!(await links.ended(uid))) await saveUnsavedGrant(grant);
    });
  };
}
