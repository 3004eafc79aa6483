import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { default as Provider } from 'oidc-provider';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { KvAdapter } from '../../src/oidc/adapter.ts';
import { SessionAdapter } from '../../src/oidc/session-adapter.ts';
import { ClientRevocations } from '../../src/oidc/client-revocations.ts';
import { SsoLinks } from '../../src/oidc/sso-links.ts';
import { SessionSync, type SessionSyncDeps } from '../../src/oidc/session-sync.ts';
import type { SilentLogin } from '../../src/oidc/sso-state.ts';
import type { SessionService } from '../../src/session/session-service.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';

/**
 * A provider session that ended (a logout, a timeout) stays ended: a request that loaded it before
 * (a save under way, a sign-in page opened before the logout) neither stores it again nor links it
 * to a new SSO session. README (Sessions): a session that ended stays ended.
 */
interface Fixture {
  sessions: SessionAdapter;
  raw: KvAdapter;
  links: SsoLinks;
  sync: SessionSync;
}

const SESSION = { jti: 's1', uid: 'u1', accountId: 'alice', authorizations: { first: { sid: 'sid-first', grantId: 'g-first' } } };

async function withSession(run: (fixture: Fixture) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-ended-session-'));
  const clock = { now: () => 1_000_000 };
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer: testSealer() });
  await kv.open();
  try {
    const live = new Set(['sso-1', 'sso-2']);
    const alive = { peek: async (id: string) => (live.has(id) ? ({ id, user: { id: 'alice' } } as unknown as SsoSession) : undefined) } as unknown as SessionService;
    const links = new SsoLinks(kv, alive, 3600);
    const raw = new KvAdapter(kv, clock, 'Session');
    await raw.upsert('s1', SESSION, 600);
    await links.set('u1', 'sso-1');
    // prepareResume reads and ends sessions through these two only.
    const sync = new SessionSync({ links, providerSessions: raw } as unknown as SessionSyncDeps);
    await run({ sessions: new SessionAdapter(raw, links, new ClientRevocations(kv)), raw, links, sync });
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** oidc-provider's interaction of a sign-in page opened while the provider session lived, and the same user's login on it. */
function signInOpenedBefore(): { interaction: InstanceType<Provider['Interaction']>; login: SilentLogin } {
  const interaction = { session: { uid: 'u1', accountId: 'alice', cookie: 's1' } } as unknown as InstanceType<Provider['Interaction']>;
  const login = { user: { id: 'alice' }, sessionId: 'sso-2' } as unknown as SilentLogin;
  return { interaction, login };
}

describe('a provider session that ended', () => {
  test('is not stored again by a save that loaded it before it ended', () =>
    withSession(async ({ sessions, raw, links }) => {
      const loaded = (await sessions.find('s1'))!;
      await links.end('u1');
      await raw.destroy('s1');
      await sessions.upsert('s1', { ...loaded, authorizations: { ...SESSION.authorizations, x: { sid: 'sid-x', grantId: 'g-x' } } }, 600);
      assert.equal(await raw.findByUid('u1'), undefined);
      assert.equal(await raw.find('s1'), undefined);
    }));

  test("ended by another user's sign-in on a page opened during it, is not stored again", () =>
    withSession(async ({ sessions, sync, raw, links }) => {
      const loaded = (await sessions.find('s1'))!;
      const { interaction, login } = signInOpenedBefore();
      await sync.prepareResume(interaction, { ...login, user: { id: 'bob' } } as unknown as SilentLogin);
      assert.equal(interaction.session, undefined, 'the resume starts a fresh provider session');
      assert.equal(await links.get('u1'), undefined);
      await sessions.upsert('s1', loaded, 600);
      assert.equal(await raw.findByUid('u1'), undefined);
    }));

  test('is not linked to the SSO session of a sign-in whose page was opened before it ended', () =>
    withSession(async ({ sync, raw, links }) => {
      const { interaction, login } = signInOpenedBefore();
      await links.end('u1');
      // As a save under way before the tombstone existed would have left it.
      await raw.upsert('s1', SESSION, 600);
      await sync.prepareResume(interaction, login);
      assert.equal(await links.get('u1'), undefined);
    }));

  test('is not linked once it is no longer stored', () =>
    withSession(async ({ sync, raw, links }) => {
      const { interaction, login } = signInOpenedBefore();
      await raw.destroy('s1');
      await sync.prepareResume(interaction, login);
      assert.equal(await links.get('u1'), 'sso-1', 'the link is left as it was');
    }));

  test('a session still stored mirrors the SSO session of the same user’s new sign-in', () =>
    withSession(async ({ sync, links }) => {
      const { interaction, login } = signInOpenedBefore();
      await sync.prepareResume(interaction, login);
      assert.equal(await links.get('u1'), 'sso-2');
    }));
});
