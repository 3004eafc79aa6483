import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { default as Provider, KoaContextWithOIDC } from 'oidc-provider';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { KvAdapter } from '../../src/oidc/adapter.ts';
import { ClientRevocations } from '../../src/oidc/client-revocations.ts';
import { SsoLinks } from '../../src/oidc/sso-links.ts';
import { BackchannelLogout, type BackchannelLogoutDeps } from '../../src/oidc/backchannel-logout.ts';
import { createLogger } from '../../src/core/log.ts';
import type { SessionService } from '../../src/session/session-service.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';

/**
 * At a Stepgate logout, each provider session that mirrored the SSO session ends: it is removed, its
 * uid marked ended (a save under way must not store it again), and its grants handed back for
 * revocation with their codes and tokens (mount.ts), also those of a client another tab added.
 */
test('a Stepgate logout ends each mirroring provider session, marks it ended and answers its grants', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-backchannel-after-logout-'));
  const clock = { now: () => 1_000_000 };
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer: testSealer() });
  await kv.open();
  try {
    const links = new SsoLinks(kv, {} as SessionService, 3600);
    const raw = new KvAdapter(kv, clock, 'Session');
    await raw.upsert('s1', { jti: 's1', uid: 'u1', accountId: 'alice', authorizations: { a: { sid: 'sid-a', grantId: 'g-a' }, b: { sid: 'sid-b', grantId: 'g-b' } } }, 600);
    await links.set('u1', 'sso-1');
    const logger = createLogger('silent');
    const provider = { on: () => undefined, Client: { find: async () => undefined } } as unknown as Provider;
    const deps: BackchannelLogoutDeps = { provider, providerSessions: raw, revocations: new ClientRevocations(kv), links, sessions: { toSignOut: async () => undefined }, audit: { record: async () => undefined } as unknown as BackchannelLogoutDeps['audit'], logger };
    const backchannel = new BackchannelLogout(deps);
    const sso = { id: 'sso-1', user: { id: 'alice', username: 'alice' } } as unknown as SsoSession;
    const grantIds = await backchannel.afterLogout(sso, { log: logger, trigger: 'sso-logout' });
    assert.deepEqual([...grantIds].sort(), ['g-a', 'g-b']);
    assert.equal(await raw.findByUid('u1'), undefined);
    assert.equal(await links.ended('u1'), true);
    assert.deepEqual(await links.mirrorsOf('sso-1'), []);
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("sign out everywhere: the clients another tab added are told, not a removed one, and under the user's name only when the browser's session is that user's", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-backchannel-untold-'));
  const clock = { now: () => 1_000_000 };
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer: testSealer() });
  await kv.open();
  try {
    const told: string[] = [];
    const audited: Array<Record<string, unknown>> = [];
    const provider = {
      on: () => undefined,
      Client: { find: async (clientId: string) => ({ backchannelLogoutUri: `https://${clientId}.example/logout`, backchannelLogout: async (accountId: string, sid: string) => void told.push(`${clientId}:${accountId}:${sid}`) }) },
    } as unknown as Provider;
    const revocations = new ClientRevocations(kv);
    await revocations.record('removed');
    let browserUser = { id: 'alice', username: 'alice' };
    const deps: BackchannelLogoutDeps = {
      provider,
      providerSessions: new KvAdapter(kv, clock, 'Session'),
      revocations,
      links: new SsoLinks(kv, {} as SessionService, 3600),
      sessions: { toSignOut: async () => ({ id: 'sso-1', user: browserUser }) as unknown as SsoSession },
      audit: { record: async (event: Record<string, unknown>) => void audited.push(event) } as unknown as BackchannelLogoutDeps['audit'],
      logger: createLogger('silent'),
    };
    const backchannel = new BackchannelLogout(deps);
    const ctx = { req: { log: createLogger('silent') } } as unknown as KoaContextWithOIDC;
    const ended = { uid: 'u1', accountId: 'alice', authorizations: { added: { sid: 'sid-added' }, removed: { sid: 'sid-removed' } } };
    await backchannel.tellUntold(ctx, ended);
    assert.deepEqual(told, ['added:alice:sid-added']);
    assert.deepEqual(audited.map(({ rp, username }) => [rp, username]), [['added', 'alice']]);
    browserUser = { id: 'bob', username: 'bob' };
    await backchannel.tellUntold(ctx, ended);
    assert.equal(audited[1]?.username, undefined, "another user's name is not put on alice's logout");
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
});
