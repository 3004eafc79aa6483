import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdapterPayload } from 'oidc-provider';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { KvAdapter } from '../../src/oidc/adapter.ts';
import { SessionAdapter } from '../../src/oidc/session-adapter.ts';
import { ClientRevocations } from '../../src/oidc/client-revocations.ts';
import { SsoLinks } from '../../src/oidc/sso-links.ts';
import type { SessionService } from '../../src/session/session-service.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';

/**
 * The saves of one provider session take turns (session-adapter.ts): a save whose store write fails
 * must fail alone, not leave the saves queued behind it waiting, and the turns kept per session must
 * not grow with the number of sessions saved.
 */
async function fixture() {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-session-fail-'));
  const clock = { now: () => 1_000_000 };
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer: testSealer() });
  await kv.open();
  const alive = { peek: async (id: string) => ({ id, user: { id: 'alice' } }) as unknown as SsoSession } as unknown as SessionService;
  const raw = new KvAdapter(kv, clock, 'Session');
  let failNext = 0;
  const failingUpsert = async (id: string, payload: AdapterPayload, expiresIn?: number) => {
    if (failNext > 0) {
      failNext--;
      throw new Error('disk full');
    }
    return raw.upsert(id, payload, expiresIn);
  };
  // The store's own adapter, its write failing when told to.
  const flaky = new Proxy(raw, { get: (target, name) => (name === 'upsert' ? failingUpsert : (Reflect.get(target, name) as { bind?: (t: unknown) => unknown })?.bind?.(target) ?? Reflect.get(target, name)) });
  const sessions = new SessionAdapter(flaky, new SsoLinks(kv, alive, 3600), new ClientRevocations(kv));
  return { sessions, raw, failNextWrites: (n: number) => (failNext = n), close: async () => (await kv.close(), await rm(dir, { recursive: true, force: true })) };
}

const payload = (uid: string, clientId: string): AdapterPayload => ({ jti: `jti-${uid}`, uid, accountId: 'alice', authorizations: { [clientId]: { sid: `sid-${clientId}`, grantId: `g-${clientId}` } } });
const withTimeout = <T>(promise: Promise<T>, ms: number) => Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms))]);

test('a save whose write fails fails alone: the saves of the same session queued behind it are written', async () => {
  const f = await fixture();
  try {
    f.failNextWrites(1);
    const results = await withTimeout(Promise.allSettled([f.sessions.upsert('jti-u1', payload('u1', 'a'), 600), f.sessions.upsert('jti-u1', payload('u1', 'b'), 600), f.sessions.upsert('jti-u1', payload('u1', 'c'), 600)]), 5000);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'fulfilled', 'fulfilled']);
    await withTimeout(f.sessions.upsert('jti-u1', payload('u1', 'd'), 600), 5000);
    assert.deepEqual(Object.keys((await f.raw.find('jti-u1'))!.authorizations ?? {}).sort(), ['b', 'c', 'd']);
  } finally {
    await f.close();
  }
});

test('saving 5,000 sessions, some failing, leaves no turn behind: a later save of one of them is not held up', async () => {
  const f = await fixture();
  try {
    for (let batch = 0; batch < 5; batch++) {
      f.failNextWrites(100);
      const results = await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => f.sessions.upsert(`jti-${batch}-${i}`, payload(`${batch}-${i}`, 'a'), 600)));
      assert.equal(results.filter((result) => result.status === 'rejected').length, 100, 'the failing writes fail their own saves only');
    }
    await withTimeout(f.sessions.upsert('jti-0-0', payload('0-0', 'b'), 600), 5000);
  } finally {
    await f.close();
  }
});
