import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Provider, { type AdapterPayload, type ClientAuthorizationState, type KoaContextWithOIDC } from 'oidc-provider';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { KvAdapter } from '../../src/oidc/adapter.ts';
import { SessionAdapter, untoldPlaces } from '../../src/oidc/session-adapter.ts';
import { ClientRevocations } from '../../src/oidc/client-revocations.ts';
import { SsoLinks } from '../../src/oidc/sso-links.ts';
import { SessionSync, type SessionSyncDeps } from '../../src/oidc/session-sync.ts';
import type { SessionService } from '../../src/session/session-service.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';

/**
 * What the Session adapter does inside an oidc-provider request (Provider.ctx): a cookie id rotation
 * keeps what another tab saved under the old id, a relying party's "sign out everywhere" ends the
 * session whatever id it is stored under now and revokes and tells the places the request did not
 * know of, and a save of a session that ended meanwhile revokes what it issued.
 */
type Places = Record<string, ClientAuthorizationState>;

interface Fixture {
  sessions: SessionAdapter;
  raw: KvAdapter;
  links: SsoLinks;
  /** The grants the request revoked (with their codes and tokens), by model. */
  revoked: Map<string, string[]>;
  /** Runs `work` as oidc-provider runs a request whose own provider session is `session`. */
  inRequest: <T>(session: Record<string, unknown> | undefined, work: (ctx: KoaContextWithOIDC) => Promise<T>) => Promise<T>;
}

const FIRST: Places = { first: { sid: 'sid-first', grantId: 'g-first' } };

async function withSession(run: (fixture: Fixture) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-session-in-request-'));
  const clock = { now: () => 1_000_000 };
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer: testSealer() });
  await kv.open();
  const revoked = new Map<string, string[]>();
  const note = (model: string) => async (grantId: string) => void revoked.set(model, [...(revoked.get(model) ?? []), grantId].sort());
  const issued = (model: string) => ({ adapter: { revokeByGrantId: note(model) } });
  const provider = { AuthorizationCode: issued('AuthorizationCode'), AccessToken: issued('AccessToken'), RefreshToken: issued('RefreshToken'), Grant: { adapter: { destroy: note('Grant') } } };
  const inRequest = async <T>(session: Record<string, unknown> | undefined, work: (ctx: KoaContextWithOIDC) => Promise<T>): Promise<T> => {
    const ctx = { oidc: { provider, session } } as unknown as KoaContextWithOIDC;
    Object.defineProperty(Provider, 'ctx', { configurable: true, get: () => ctx });
    try {
      return await work(ctx);
    } finally {
      delete (Provider as unknown as Record<string, unknown>).ctx;
    }
  };
  try {
    const alive = { peek: async (id: string) => (id === 'sso-1' ? ({ id, user: { id: 'alice' } } as unknown as SsoSession) : undefined) } as unknown as SessionService;
    const links = new SsoLinks(kv, alive, 3600);
    const raw = new KvAdapter(kv, clock, 'Session');
    await raw.upsert('s1', { jti: 's1', uid: 'u1', accountId: 'alice', authorizations: FIRST }, 600);
    await links.set('u1', 'sso-1');
    await run({ sessions: new SessionAdapter(raw, links, new ClientRevocations(kv)), raw, links, revoked, inRequest });
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Another tab's request adds client `clientId` to the session stored under `id`, as oidc-provider saves it. */
async function otherTabAdds(sessions: SessionAdapter, clientId: string, id = 's1', asId = id): Promise<void> {
  const loaded = (await sessions.find(id))!;
  const places = loaded.authorizations as Places;
  places[clientId] = { sid: `sid-${clientId}`, grantId: `g-${clientId}` };
  await sessions.upsert(asId, { ...loaded, jti: asId, authorizations: places }, 600);
}

const clientsIn = (payload: AdapterPayload | undefined) => Object.keys(payload?.authorizations ?? {}).sort();

describe('the provider session inside a request', () => {
  test('a cookie id rotation keeps the place another tab saved under the old id after this request loaded it', () =>
    withSession(async ({ sessions, raw, inRequest }) => {
      const loaded = (await sessions.find('s1'))!;
      const places = loaded.authorizations as Places;
      await otherTabAdds(sessions, 'b');
      places.a = { sid: 'sid-a', grantId: 'g-a' };
      // oidc-provider's rotation at a sign-in: the old id destroyed, the session saved under the new one.
      await inRequest({ uid: 'u1', jti: 's2', oldId: 's1', authorizations: places }, async () => {
        await sessions.destroy('s1');
        await sessions.upsert('s2', { ...loaded, jti: 's2', authorizations: places }, 600);
      });
      const stored = await raw.findByUid('u1');
      assert.equal(stored?.jti, 's2');
      assert.deepEqual(clientsIn(stored), ['a', 'b', 'first']);
      assert.equal(await raw.find('s1'), undefined);
    }));

  test("sign out everywhere ends the session under whatever id it has now: the places this request did not know of are revoked and left to be told", () =>
    withSession(async ({ sessions, raw, links, revoked, inRequest }) => {
      const loaded = (await sessions.find('s1'))!;
      // Another tab signs in to client b meanwhile, with a cookie id rotation of its own.
      await otherTabAdds(sessions, 'b', 's1', 's2');
      await raw.destroy('s1');
      const untold = await inRequest({ uid: 'u1', jti: 's1', authorizations: loaded.authorizations }, async (ctx) => {
        await sessions.destroy('s1');
        return untoldPlaces(ctx);
      });
      assert.equal(await raw.findByUid('u1'), undefined, 'nothing of the session is left');
      assert.equal(await raw.find('s2'), undefined);
      assert.equal(await links.ended('u1'), true, 'its uid is marked ended: a save under way cannot store it again');
      assert.equal(await links.get('u1'), undefined);
      // oidc-provider revokes the grants of the places it knew of (first) itself.
      for (const model of ['AuthorizationCode', 'AccessToken', 'RefreshToken', 'Grant']) assert.deepEqual(revoked.get(model), ['g-b'], model);
      assert.deepEqual(clientsIn(untold), ['b'], 'only client b is left to be told: oidc-provider tells first');
      assert.equal(untold?.authorizations?.b?.sid, 'sid-b');
    }));

  test("sign out everywhere with nothing added meanwhile revokes nothing more and leaves no one to tell", () =>
    withSession(async ({ sessions, raw, revoked, inRequest }) => {
      const loaded = (await sessions.find('s1'))!;
      const untold = await inRequest({ uid: 'u1', jti: 's1', authorizations: loaded.authorizations }, async (ctx) => {
        await sessions.destroy('s1');
        return untoldPlaces(ctx);
      });
      assert.equal(await raw.findByUid('u1'), undefined);
      assert.deepEqual([...revoked.values()].flat(), []);
      assert.equal(untold, undefined);
    }));

  test("a destroy of another id within a request removes that id alone: the request's own session goes on", () =>
    withSession(async ({ sessions, raw, links, inRequest }) => {
      await raw.upsert('other', { jti: 'other', uid: 'u-other', accountId: 'bob' }, 600);
      await inRequest({ uid: 'u1', jti: 's1', authorizations: FIRST }, () => sessions.destroy('other'));
      assert.equal(await raw.find('other'), undefined);
      assert.equal((await raw.findByUid('u1'))?.jti, 's1');
      assert.equal(await links.ended('u1'), false);
    }));

  test('a save of a session that ended while the request was under way is dropped, and the grants of its places are revoked', () =>
    withSession(async ({ sessions, raw, links, revoked, inRequest }) => {
      const loaded = (await sessions.find('s1'))!;
      const places = loaded.authorizations as Places;
      places.late = { sid: 'sid-late', grantId: 'g-late' };
      // A logout elsewhere ends the session before this request saves it.
      await links.end('u1');
      await raw.destroy('s1');
      await inRequest({ uid: 'u1', jti: 's1', authorizations: places }, () => sessions.upsert('s1', { ...loaded, authorizations: places }, 600));
      assert.equal(await raw.findByUid('u1'), undefined, 'not stored again');
      for (const model of ['AuthorizationCode', 'AccessToken', 'RefreshToken', 'Grant']) assert.deepEqual(revoked.get(model), ['g-first', 'g-late'], model);
    }));
  test('sign out everywhere, once confirmed, tells the clients another tab added meanwhile', () =>
    withSession(async ({ sessions, raw, links, inRequest }) => {
      const loaded = (await sessions.find('s1'))!;
      await otherTabAdds(sessions, 'b');
      const told: Array<[string[], string]> = [];
      const backchannel = { tellUntold: async (_ctx: KoaContextWithOIDC, ended: AdapterPayload) => void told.push([clientsIn(ended), String(ended.accountId)]) };
      const sync = new SessionSync({ links, providerSessions: raw, backchannel, sessions: { toSignOut: async () => undefined } } as unknown as SessionSyncDeps);
      const session = { uid: 'u1', jti: 's1', accountId: 'alice', authorizations: loaded.authorizations };
      await inRequest(session, async (ctx) => {
        // oidc-provider's end_session_confirm: it tells the clients it knows of and destroys the session, then answers 303.
        Object.assign(ctx, { status: 303, response: { get: () => '' } });
        Object.assign(ctx.oidc, { route: 'end_session_confirm', params: { logout: 'yes' }, urlFor: () => '/oidc/session/end/success' });
        await sync.middleware()(ctx, () => sessions.destroy('s1'));
      });
      assert.deepEqual(told, [[['b'], 'alice']]);
    }));
});
