import { test, describe } from 'node:test';
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
import type { SsoSession } from '../../src/session/sso-session.ts';

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

async function withKv<T>(run: (kv: JournalKeyValue, reopen: () => Promise<JournalKeyValue>, clock: ReturnType<typeof fakeClock>) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-oidc-'));
  const clock = fakeClock();
  const sealer = testSealer();
  const open = async () => {
    const kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer });
    await kv.open();
    return kv;
  };
  let kv = await open();
  try {
    return await run(kv, async () => {
      await kv.close();
      return (kv = await open());
    }, clock);
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('oidc-provider adapter on Store.kv', () => {
  test('upsert/find with TTL, lookups by uid and user code, destroy', () =>
    withKv(async (kv, _reopen, clock) => {
      const sessions = new KvAdapter(kv, clock, 'Session');
      await sessions.upsert('s1', { jti: 's1', uid: 'u1', accountId: 'a' }, 60);
      assert.deepEqual(await sessions.find('s1'), { jti: 's1', uid: 'u1', accountId: 'a' });
      assert.equal((await sessions.findByUid('u1'))?.jti, 's1');
      // A rotated session id keeps its uid; the old id is destroyed first, as oidc-provider does.
      await sessions.destroy('s1');
      await sessions.upsert('s2', { jti: 's2', uid: 'u1', accountId: 'a' }, 60);
      assert.equal((await sessions.findByUid('u1'))?.jti, 's2');
      assert.equal(await sessions.find('s1'), undefined);
      clock.advance(61_000);
      assert.equal(await sessions.find('s2'), undefined);
      assert.equal(await sessions.findByUid('u1'), undefined);

      const devices = new KvAdapter(kv, clock, 'DeviceCode');
      await devices.upsert('d1', { jti: 'd1', userCode: 'ABCD-EFGH' }, 60);
      assert.equal((await devices.findByUserCode('ABCD-EFGH'))?.jti, 'd1');
    }));

  test('consume marks the record once and keeps it; a second consume fails', () =>
    withKv(async (kv, _reopen, clock) => {
      const codes = new KvAdapter(kv, clock, 'AuthorizationCode');
      await codes.upsert('c1', { jti: 'c1', grantId: 'g1' }, 60);
      await codes.consume('c1');
      assert.equal(typeof (await codes.find('c1'))?.consumed, 'number');
      await assert.rejects(codes.consume('c1'), (error: { error?: string }) => error.error === 'invalid_grant');
      // Consuming does not extend the record's life.
      clock.advance(60_001);
      assert.equal(await codes.find('c1'), undefined);
    }));

  test('two concurrent consumes of the same code: exactly one wins', () =>
    withKv(async (kv, _reopen, clock) => {
      const codes = new KvAdapter(kv, clock, 'AuthorizationCode');
      await codes.upsert('c1', { jti: 'c1' }, 60);
      const outcomes = await Promise.allSettled([codes.consume('c1'), codes.consume('c1')]);
      assert.deepEqual(outcomes.map((outcome) => outcome.status).sort(), ['fulfilled', 'rejected']);
    }));

  test("revokeByGrantId removes that grant's records of this model only", () =>
    withKv(async (kv, _reopen, clock) => {
      const access = new KvAdapter(kv, clock, 'AccessToken');
      const refresh = new KvAdapter(kv, clock, 'RefreshToken');
      await access.upsert('a1', { jti: 'a1', grantId: 'g1' }, 60);
      await access.upsert('a2', { jti: 'a2', grantId: 'g1' }, 60);
      await access.upsert('a3', { jti: 'a3', grantId: 'g2' }, 60);
      await refresh.upsert('r1', { jti: 'r1', grantId: 'g1' }, 60);
      await access.revokeByGrantId('g1');
      assert.deepEqual([await access.find('a1'), await access.find('a2')], [undefined, undefined]);
      assert.ok(await access.find('a3'));
      assert.ok(await refresh.find('r1'));
    }));

  test('sessions, grants and tokens survive a restart; codes and interactions do not', () =>
    withKv(async (kv, reopen, clock) => {
      for (const model of ['Session', 'Grant', 'AccessToken', 'RefreshToken', 'AuthorizationCode', 'Interaction']) {
        await new KvAdapter(kv, clock, model).upsert('x', { jti: 'x' }, 600);
      }
      const restarted = await reopen();
      const survivors = [];
      for (const model of ['Session', 'Grant', 'AccessToken', 'RefreshToken', 'AuthorizationCode', 'Interaction']) {
        if (await new KvAdapter(restarted, clock, model).find('x')) survivors.push(model);
      }
      assert.deepEqual(survivors, ['Session', 'Grant', 'AccessToken', 'RefreshToken']);
    }));
});

describe('provider sessions mirror the Stepgate SSO session', () => {
  test('a signed-in provider session is returned only while its SSO session lives and is the same account; a refused one stays for the logout to find', () =>
    withKv(async (kv, _reopen, clock) => {
      const live = new Map<string, SsoSession>([['sso-1', { id: 'sso-1', user: { id: 'alice', username: 'alice', groups: [], attributes: {} } } as unknown as SsoSession]]);
      const sessions = { peek: async (id: string) => live.get(id) } as unknown as SessionService;
      const links = new SsoLinks(kv, sessions, 3600);
      const adapter = new SessionAdapter(new KvAdapter(kv, clock, 'Session'), links, new ClientRevocations(kv));

      await adapter.upsert('anonymous', { jti: 'anonymous', uid: 'u0', state: { secret: 'x' } }, 60);
      assert.ok(await adapter.find('anonymous'), 'a session nobody signed in to is not checked');

      await adapter.upsert('p1', { jti: 'p1', uid: 'u1', accountId: 'alice' }, 60);
      assert.equal(await adapter.find('p1'), undefined, 'never linked: refused');
      await adapter.upsert('p1', { jti: 'p1', uid: 'u1', accountId: 'alice' }, 60);
      await links.set('u1', 'sso-1');
      assert.equal((await adapter.find('p1'))?.accountId, 'alice');
      assert.equal((await adapter.findByUid('u1'))?.accountId, 'alice');

      await adapter.upsert('p2', { jti: 'p2', uid: 'u2', accountId: 'mallory' }, 60);
      await links.set('u2', 'sso-1');
      assert.equal(await adapter.find('p2'), undefined, 'another account than the SSO session: refused');
      assert.equal(await new KvAdapter(kv, clock, 'Session').find('p2'), undefined, 'and destroyed, never to be told about');
      assert.equal(await links.get('u2'), undefined);

      live.delete('sso-1');
      assert.equal(await adapter.findByUid('u1'), undefined, 'SSO session ended: refused');
      assert.equal(await adapter.find('p1'), undefined);
      // Left for the logout that ended it, which may not have told the session's clients yet.
      assert.equal((await new KvAdapter(kv, clock, 'Session').find('p1'))?.accountId, 'alice', 'kept, for the back-channel logout');
      assert.deepEqual(await links.mirrorsOf('sso-1'), ['u1'], 'the logout still finds it');
    }));
});

describe('SSO links in both directions', () => {
  test('mirrorsOf lists the provider sessions that mirror an SSO session now: relinked and deleted ones drop out, entries expire with the links', () =>
    withKv(async (kv, reopen, clock) => {
      const sessions = { peek: async () => undefined } as unknown as SessionService;
      const links = new SsoLinks(kv, sessions, 60);
      await links.set('u1', 'sso-a');
      await links.set('u2', 'sso-a');
      await links.set('u3', 'sso-b');
      assert.deepEqual((await links.mirrorsOf('sso-a')).sort(), ['u1', 'u2']);
      assert.deepEqual(await links.mirrorsOf('sso-b'), ['u3']);

      // A re-authentication moves a provider session to the new SSO session.
      await links.set('u2', 'sso-b');
      assert.deepEqual(await links.mirrorsOf('sso-a'), ['u1']);
      assert.deepEqual((await links.mirrorsOf('sso-b')).sort(), ['u2', 'u3']);
      await links.delete('u1');
      assert.deepEqual(await links.mirrorsOf('sso-a'), []);
      assert.equal(await kv.count('oidc-sso-mirrors:sso-a'), 0, 'no entry left behind');

      const restarted = new SsoLinks(await reopen(), sessions, 60);
      assert.deepEqual((await restarted.mirrorsOf('sso-b')).sort(), ['u2', 'u3'], 'durable like the links');
      clock.advance(61_000);
      assert.deepEqual(await restarted.mirrorsOf('sso-b'), []);
    }));
});
