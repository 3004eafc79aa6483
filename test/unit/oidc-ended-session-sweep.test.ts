import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { KvAdapter } from '../../src/oidc/adapter.ts';
import { SsoLinks } from '../../src/oidc/sso-links.ts';
import { SessionGrants } from '../../src/oidc/session-grants.ts';
import { EndedSessionSweep } from '../../src/oidc/ended-session-sweep.ts';
import { createLogger } from '../../src/core/log.ts';
import type { SessionService } from '../../src/session/session-service.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';

const UID = 'provider-session-uid';
const TTL = 3600;

/**
 * The sweep of ended sessions with a real journal and the adapters the server uses, and the session
 * service's answer (`peek`: live or not) set by each test. One provider session, signed in to one
 * client, with a grant and a refresh token, linked to SSO session `sso-1`.
 */
async function withSweep(run: (world: { sweep: EndedSessionSweep; live: Set<string>; links: SsoLinks; held: () => Promise<string[]>; advance: (ms: number) => void }) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-sweep-'));
  let now = 1_000_000;
  const clock = { now: () => now };
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer: testSealer() });
  await kv.open();
  try {
    const live = new Set<string>();
    const sessions = { peek: async (id: string) => (live.has(id) ? ({ id } as SsoSession) : undefined) } as unknown as SessionService;
    const links = new SsoLinks(kv, sessions, TTL);
    const model = (name: string) => new KvAdapter(kv, clock, name);
    const grants = new SessionGrants({ providerSessions: model('Session'), grants: model('Grant'), issued: ['AccessToken', 'RefreshToken'].map(model), links });
    await model('Session').upsert('cookie-id', { jti: 'cookie-id', uid: UID, accountId: 'u1', authorizations: { rp: { grantId: 'g1', sid: 's1' } } }, TTL);
    await model('Grant').upsert('g1', { jti: 'g1', accountId: 'u1', clientId: 'rp' }, TTL);
    await model('RefreshToken').upsert('rt1', { jti: 'rt1', grantId: 'g1', sessionUid: UID }, TTL);
    await links.set(UID, 'sso-1');
    const held = async () => {
      const found = [await kv.get('oidc:Session', 'cookie-id'), await kv.get('oidc:Grant', 'g1'), await kv.get('oidc:RefreshToken', 'rt1'), await links.get(UID)];
      return ['provider session', 'grant', 'refresh token', 'link'].filter((_, index) => found[index] !== undefined);
    };
    const sweep = new EndedSessionSweep({ links, sessions, grants, clock, logger: createLogger('silent') });
    await run({ sweep, live, links, held, advance: (ms) => void (now += ms) });
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const EVERYTHING = ['provider session', 'grant', 'refresh token', 'link'];

test('an SSO session found ended keeps its provider session for the life of a sign-in and a minute, and until a later sweep (a logout or re-authentication may be at work); then all of it goes', async () => {
  await withSweep(async ({ sweep, held, advance }) => {
    await sweep.sweep();
    assert.deepEqual(await held(), EVERYTHING, 'found ended: nothing removed yet');
    advance(15 * 60_000);
    await sweep.sweep();
    assert.deepEqual(await held(), EVERYTHING, 'a re-authentication may still finish 15 minutes later (a sign-in lasts that long)');
    advance(61_000);
    await sweep.sweep();
    assert.deepEqual(await held(), []);
  });
});

test('links moved by a re-authentication after a sweep found the old session gone: nothing is removed', async () => {
  await withSweep(async ({ sweep, live, links, held, advance }) => {
    await sweep.sweep();
    live.add('sso-2');
    await links.set(UID, 'sso-2');
    advance(10 * 60_000);
    await sweep.sweep();
    await sweep.sweep();
    assert.deepEqual(await held(), EVERYTHING);
  });
});

test('a live SSO session keeps everything, however often the sweep runs', async () => {
  await withSweep(async ({ sweep, live, held, advance }) => {
    live.add('sso-1');
    for (let round = 0; round < 3; round++) {
      advance(10 * 60_000);
      await sweep.sweep();
    }
    assert.deepEqual(await held(), EVERYTHING);
  });
});

test('a provider session the sweep removes is marked ended: a request that loaded it before cannot store it again', async () => {
  await withSweep(async ({ sweep, links, held, advance }) => {
    await sweep.sweep();
    advance(16 * 60_000 + 1000);
    await sweep.sweep();
    assert.deepEqual(await held(), []);
    assert.equal(await links.ended(UID), true);
  });
});
