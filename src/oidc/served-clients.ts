import type { AdapterPayload, ClientAuthorizationState, default as Provider, Grant, KoaContextWithOIDC } from 'oidc-provider';
import { saveUnsavedGrant } from './grants.ts';

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

/** The Session adapter's payload as it is stored: without the places no code confirmed. */
export function withServedPlacesOnly(payload: AdapterPayload): AdapterPayload {
  const { authorizations } = payload;
  if (!authorizations) return payload;
  const served = Object.entries(authorizations as Record<string, Place>).filter(([, place]) => !place[PROVISIONAL]);
  if (served.length === Object.keys(authorizations).length) return payload;
  const { authorizations: _all, ...rest } = payload;
  return served.length ? { ...rest, authorizations: Object.fromEntries(served) } : rest;
}

/**
 * Koa middleware around oidc-provider's routes, with its listener. A code issued confirms the
 * client's place at once (the session is saved after the answer is built, in the same request), and
 * its grant is written before Koa sends the answer, so the client never holds a code whose grant
 * is not stored.
 */
export function confirmServedPlaces(provider: Provider) {
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
    if (grant) await saveUnsavedGrant(grant);
  };
}
