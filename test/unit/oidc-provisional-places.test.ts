import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientAuthorizationState, KoaContextWithOIDC } from 'oidc-provider';
import { holdPlace } from '../../src/oidc/served-clients.ts';
import { withProviderSession } from '../helpers/oidc-session-fixture.ts';

type Places = Record<string, ClientAuthorizationState>;
type ProviderSession = NonNullable<KoaContextWithOIDC['oidc']['session']>;

/**
 * A client's place in the provider session is stored only once it was issued a code: a place held for
 * an authorization request that was refused or abandoned must not make the client one that is told
 * at logout, listed, or has a sid in the session.
 */
test('a place held for a client not yet issued a code is not stored; confirmed, it is', () =>
  withProviderSession(async ({ sessions, raw }) => {
    const loaded = (await sessions.find('s1'))!;
    const places = loaded.authorizations as Places;
    const session = { authorizations: places, ensureClientContainer: (clientId: string) => void (places[clientId] ??= {}) } as unknown as ProviderSession;
    holdPlace(session, 'pending');
    // oidc-provider fills the place in (loadGrant) before the request is refused or abandoned.
    Object.assign(places.pending!, { sid: 'sid-pending', grantId: 'g-pending' });
    await sessions.upsert('s1', { ...loaded, authorizations: places }, 600);
    assert.deepEqual(Object.keys((await raw.find('s1'))?.authorizations ?? {}), ['first']);

    // A code issued confirms the place (confirmServedPlaces on authorization.success drops the mark).
    holdPlace(session, 'pending');
    delete (places.pending as Record<string, unknown>).stepgateProvisional;
    await sessions.upsert('s1', { ...loaded, authorizations: places }, 600);
    assert.deepEqual(Object.keys((await raw.find('s1'))?.authorizations ?? {}).sort(), ['first', 'pending']);
  }));
