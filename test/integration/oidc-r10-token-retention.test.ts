import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { until } from '../helpers/until.ts';
import type { TestBrowser } from '../helpers/browser.ts';
import { createRp, createUser, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';

/**
 * Grants and refresh tokens are stored for `oidc.refreshTokenTtlSeconds` (14 days) but cannot be used
 * once the SSO session they are bound to has ended, nor a rotated refresh token once that session
 * could have ended: they must not stay in the store (the journal holds every live entry in memory)
 * for the 14 days. A session that is still live, also one re-authenticated in its browser (a new SSO
 * session its links moved to), keeps everything.
 */
let now = Date.now();
const clock = { now: () => now };
const minutes = (count: number) => void (now += count * 60_000);
let app: Booted;
let rp: TestRp;

before(async () => {
  app = await boot({ session: { idleTimeoutMinutes: 30, absoluteTimeoutHours: 3 }, oidc: { accessTokenTtlSeconds: 3600 } }, { clock });
  rp = await createRp(app);
});
after(() => app?.close());

interface StoredToken {
  payload: { grantId: string; sessionUid: string; consumed?: number };
}

/** An opaque token's value is its record's id. */
const tokenRecord = (refreshToken: string) => app.services.store.kv.get<StoredToken>('oidc:RefreshToken', refreshToken);

/** What oidc-provider holds for the sign-in a refresh token came from: its grant, its refresh tokens (used or not) and its provider session. */
async function heldFor(record: StoredToken) {
  const { kv } = app.services.store;
  const { grantId, sessionUid } = record.payload;
  return {
    grant: (await kv.get('oidc:Grant', grantId)) !== undefined,
    refreshTokens: await kv.count(`oidc-grant:RefreshToken:${grantId}`),
    providerSession: (await kv.get('oidc-uid:Session', sessionUid)) !== undefined,
    link: (await kv.get('oidc-sso-link', sessionUid)) !== undefined,
  };
}

const NOTHING = { grant: false, refreshTokens: 0, providerSession: false, link: false };

async function newUser(username: string) {
  const user = { username, password: `correct horse ${username}` };
  await createUser(app, user);
  return user;
}

async function signedIn(username: string, browser: TestBrowser = rpBrowser()) {
  const { tokens } = await signIn(rp, browser, await newUser(username));
  return { browser, refreshToken: tokens.refresh_token! };
}

async function refreshed(refreshToken: string): Promise<string> {
  const tokens = await oidc.refreshTokenGrant(rp.config, refreshToken);
  assert.ok(tokens.access_token && tokens.refresh_token);
  return tokens.refresh_token;
}

const sweepLines = () => app.logs.filter((line) => line.event === 'oidc.ended-sessions-swept');

/**
 * Requests to the provider start the sweep of ended sessions at most every 5 minutes; a session
 * found ended loses its grants at a later sweep, once a sign-in's life (15 minutes) and a minute have passed.
 */
async function sweepTwice(): Promise<void> {
  for (const wait of [6, 17]) {
    const before = sweepLines().length;
    minutes(wait);
    assert.equal((await fetch(`${app.url}/.well-known/openid-configuration`)).status, 200);
    await until(async () => sweepLines().length, (count) => count > before, 'a sweep of ended sessions');
  }
}

async function auditedLogouts(): Promise<number> {
  const { events } = await app.services.store.audit.query({ types: ['logout', 'oidc.backchannel-logout'] });
  return events.length;
}

test('a rotated refresh token is kept only as long as the session it was used in can last; the current one goes on working', async () => {
  const { browser, refreshToken: first } = await signedIn('grace');
  minutes(60);
  const second = await refreshed(first);
  assert.ok((await tokenRecord(first))?.payload.consumed, 'the used token is kept, so that a second use is recognised');
  minutes(60);
  // A re-authentication makes a new SSO session: the sign-in's tokens go on for its life, past the first one's end.
  await signIn(rp, browser, { username: 'grace', password: 'correct horse grace' }, { prompt: 'login' });
  const third = await refreshed(second);
  minutes(60);
  let current = await refreshed(third);
  minutes(61); // 3 h 1 min after the first token was used, 2 h 1 min after the second was
  assert.equal(await tokenRecord(first), undefined, 'gone once the session it was used in has ended at the latest');
  assert.ok((await tokenRecord(second))?.payload.consumed, 'kept while the session it was used in may last');
  current = await refreshed(current);
  await assert.rejects(oidc.refreshTokenGrant(rp.config, first), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
  assert.ok(await refreshed(current), 'the sign-in goes on');
});

test('a session that idled out loses its grant, tokens and provider session at the sweep; live sessions, a re-authenticated one included, keep theirs', async () => {
  const idle = await signedIn('alice');
  const live = await signedIn('bob');
  const reauthenticated = await signedIn('carol');
  const idleRecord = (await tokenRecord(idle.refreshToken))!;
  minutes(60);
  const bobs = await refreshed(live.refreshToken);
  await signIn(rp, reauthenticated.browser, { username: 'carol', password: 'correct horse carol' }, { prompt: 'login' });
  const carols = await refreshed(reauthenticated.refreshToken);
  minutes(31); // alice's client stopped refreshing: her session is idle 30 minutes after her access token expired
  const audited = await auditedLogouts();

  await sweepTwice();

  assert.deepEqual(await heldFor(idleRecord), NOTHING);
  assert.equal(await tokenRecord(idle.refreshToken), undefined);
  assert.ok(await refreshed(bobs), 'a live session refreshes');
  assert.ok(await refreshed(carols), 'a re-authenticated session refreshes with the tokens of its first sign-in');
  assert.equal(await auditedLogouts(), audited, 'a timeout is not a logout: nobody is told, nothing is audited');
  assert.ok(sweepLines().some((line) => line.removed === 1));
});

test('a session past its absolute lifetime loses its grant and tokens at the sweep, though its client refreshed every hour', async () => {
  const ended = await signedIn('dave');
  const record = (await tokenRecord(ended.refreshToken))!;
  let daves = ended.refreshToken;
  for (let hour = 0; hour < 3; hour++) {
    minutes(59);
    daves = await refreshed(daves);
  }
  const live = await signedIn('erin');
  minutes(4); // 3 h 1 min after dave signed in
  await assert.rejects(oidc.refreshTokenGrant(rp.config, daves), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');

  await sweepTwice();

  assert.deepEqual(await heldFor(record), NOTHING);
  assert.ok(await refreshed(live.refreshToken), 'a session that started later refreshes');
});

test('a Stepgate logout removes the grant and tokens of its sessions at once', async () => {
  const { browser, refreshToken } = await signedIn('frank');
  const record = (await tokenRecord(refreshToken))!;
  const confirm = await browser.get(`${app.url}/logout`);
  const done = await browser.submit(confirm, {}, '/logout');
  assert.match(done.url, /\/signed-out$/);
  assert.deepEqual(await heldFor(record), NOTHING);
});

test('a provider session nobody signed in to (a sign-out page asking a browser with only an SSO session) is kept no longer than an SSO session can last; a signed-in one a day longer, for the sweep', async () => {
  const stored = async () => new Map((await app.services.store.kv.entries<{ payload: { accountId?: string }; expiresAt?: number }>('oidc:Session')).map(([id, entry]) => [id, entry]));
  const before = await stored();
  const { browser: ssoOnly } = await signedIn('hugo');
  const jar = ssoOnly.cookies.get(new URL(app.url).host)!;
  for (const name of [...jar.keys()]) if (name.startsWith('sg_oidc_session')) jar.delete(name);
  const signedInSessions = (await stored()).size;
  const page = await ssoOnly.get(`${app.url}/oidc/session/end`);
  assert.equal(page.status, 200);
  assert.match(page.body, /Sign out<\/button>/);
  const added = [...(await stored()).entries()].filter(([id]) => !before.has(id)).map(([, entry]) => entry).filter((entry) => entry.payload.accountId === undefined);
  assert.equal((await stored()).size, signedInSessions + 1, 'the sign-out page saved a provider session');
  assert.equal(added.length, 1);
  assert.ok(added[0]!.expiresAt! <= now + 3 * 3600_000 + 1000, `kept until ${new Date(added[0]!.expiresAt!).toISOString()}, more than the 3 hours an SSO session can last`);

  const { refreshToken } = await signedIn('gina');
  const { sessionUid } = (await tokenRecord(refreshToken))!.payload;
  const signedInSession = [...(await stored()).values()].find((entry) => (entry.payload as { uid?: string }).uid === sessionUid)!;
  assert.ok(signedInSession.expiresAt! > now + 3 * 3600_000 + 23 * 3600_000, 'a signed-in provider session outlives its SSO session by the sweep margin');
});
