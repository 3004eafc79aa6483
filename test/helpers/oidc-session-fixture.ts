import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from './journal-sealer.ts';
import { KvAdapter } from '../../src/oidc/adapter.ts';
import { SessionAdapter } from '../../src/oidc/session-adapter.ts';
import { ClientRevocations } from '../../src/oidc/client-revocations.ts';
import { SsoLinks } from '../../src/oidc/sso-links.ts';
import type { SessionService } from '../../src/session/session-service.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';

export interface ProviderSessionFixture {
  sessions: SessionAdapter;
  raw: KvAdapter;
  revocations: ClientRevocations;
}

/**
 * A stored provider session `s1` (uid `u1`, one client `first`) linked to the live SSO session
 * `sso-1` of alice, on a journal of its own: the session adapter as oidc-provider's saves reach it.
 */
export async function withProviderSession(run: (fixture: ProviderSessionFixture) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-provider-session-'));
  const clock = { now: () => 1_000_000 };
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer: testSealer() });
  await kv.open();
  try {
    const alive = { peek: async (id: string) => (id === 'sso-1' ? ({ id, user: { id: 'alice' } } as unknown as SsoSession) : undefined) } as unknown as SessionService;
    const links = new SsoLinks(kv, alive, 3600);
    const revocations = new ClientRevocations(kv);
    const raw = new KvAdapter(kv, clock, 'Session');
    await raw.upsert('s1', { jti: 's1', uid: 'u1', accountId: 'alice', authorizations: { first: { sid: 'sid-first', grantId: 'g-first' } } }, 600);
    await links.set('u1', 'sso-1');
    await run({ sessions: new SessionAdapter(raw, links, revocations), raw, revocations });
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
}
