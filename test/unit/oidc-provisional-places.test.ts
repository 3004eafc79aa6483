import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientAuthorizationState, KoaContextWithOIDC } from 'oidc-provider';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { KvAdapter } from '../../src/oidc/adapter.ts';
import { SessionAdapter } from '../../src/oidc/session-adapter.ts';
import { ClientRevocations } from '../../src/oidc/client-revocations.ts';
import { SsoLinks } from '../../src/oidc/sso-links.ts';
import { holdPlace } from '../../src/oidc/served-clients.ts';
import type { SessionService } from '../../src/session/session-service.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';

type Places = Record<string, ClientAuthorizationState>;
type ProviderSession = NonNullable<KoaContextWithOIDC['oidc']['session']>;

/**
 * A client's place in the provider session is stored only once it was issued a code: a place held for
 * an authorization request that was refused or abandoned must not make the client one that is told
 * at logout, listed, or has a sid in the session.
 */
test('a place held for a client not yet issued a code is not stored; confirmed, it is', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-provisional-places-'));
  const clock = { now: () => 1_000_000 };
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer: testSealer() });
  await kv.open();
  try {
    const alive = { peek: async (id: string) => (id === 'sso-1' ? ({ id, user: { id: 'alice' } } as unknown as SsoSession) : undefined) } as unknown as SessionService;
    const links = new SsoLinks(kv, alive, 3600);
    const raw = new KvAdapter(kv, clock, 'Session');
    await raw.upsert('s1', { jti: 's1', uid: 'u1', accountId: 'alice', authorizations: { first: { sid: 'sid-first', grantId: 'g-first' } } }, 600);
    await links.set('u1', 'sso-1');
    const sessions = new SessionAdapter(raw, links, new ClientRevocations(kv));

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
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
});
