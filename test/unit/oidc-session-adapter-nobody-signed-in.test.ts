import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { KvAdapter } from '../../src/oidc/adapter.ts';
import { SessionAdapter } from '../../src/oidc/session-adapter.ts';
import { ClientRevocations } from '../../src/oidc/client-revocations.ts';
import { SsoLinks } from '../../src/oidc/sso-links.ts';
import type { SessionService } from '../../src/session/session-service.ts';

/**
 * A provider session nobody signed in to is stored only to carry a sign-out's confirmation (its
 * xsrf secret, in `state`): oidc-provider would otherwise store one for any request that carries a
 * session cookie, records anyone could add by the million.
 */
test('a provider session nobody signed in to is stored with a sign-out to confirm, and not without one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-oidc-nobody-'));
  const clock = { now: () => 1_000_000 };
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer: testSealer() });
  await kv.open();
  try {
    const sessions = { peek: async () => undefined } as unknown as SessionService;
    const adapter = new SessionAdapter(new KvAdapter(kv, clock, 'Session'), new SsoLinks(kv, sessions, 3600), new ClientRevocations(kv));
    const stored = new KvAdapter(kv, clock, 'Session');

    await adapter.upsert('confirming', { jti: 'confirming', uid: 'u1', state: { secret: 'x' } }, 60);
    assert.ok(await stored.find('confirming'), 'a sign-out to confirm: stored');

    await adapter.upsert('empty', { jti: 'empty', uid: 'u2' }, 60);
    assert.equal(await stored.find('empty'), undefined, 'nothing to confirm: not stored');
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
});
