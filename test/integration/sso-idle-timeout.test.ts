import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import type { TestBrowser } from '../helpers/browser.ts';
import { authRequest, callbackOf, createRp, createUser, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';

/**
 * The SSO session's idle timeout, for a client's back end, counts the user's use of it (their
 * browser) and the client's: an access token it got from the session (at the code exchange or a
 * permitted refresh) keeps the session in use until the token expires, so a client that refreshes
 * when its access token expires (most do; the default access token lasts 60 minutes, the idle
 * timeout 30) finds the session. For the browser, only its own use counts: an unattended browser is
 * signed out idleTimeoutMinutes after its last use, whatever clients do. The absolute lifetime ends both.
 */
const ALICE = { username: 'alice', password: 'correct horse 1' };
let now = Date.now();
const clock = { now: () => now };
const minutes = (count: number) => void (now += count * 60_000);
let app: Booted;
let rp: TestRp;

before(async () => {
  app = await boot({ session: { idleTimeoutMinutes: 30, absoluteTimeoutHours: 3 }, oidc: { accessTokenTtlSeconds: 3600 } }, { clock });
  await createUser(app, ALICE);
  rp = await createRp(app);
});
after(() => app?.close());

const refused = (error: oidc.ResponseBodyError) => error.error === 'invalid_grant';

async function silentError(browser: TestBrowser): Promise<string | null> {
  const silent = await authRequest(rp, { prompt: 'none' });
  return callbackOf(rp, await browser.get(silent.url.toString())).searchParams.get('error');
}

/** The stored SSO sessions (the browsers of these tests sign in once each). */
async function storedSessions(): Promise<SsoSession[]> {
  return (await app.services.store.kv.entries<SsoSession>('sso-session')).map(([, session]) => session);
}

test('a client that refreshes when its access token expires keeps the session for itself, not the unattended browser', async () => {
  const browser = rpBrowser();
  let { tokens } = await signIn(rp, browser, ALICE);
  for (let hour = 1; hour <= 2; hour++) {
    minutes(60); // the access token has just expired; nobody used the browser
    tokens = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
    assert.ok(tokens.access_token, `the refresh after ${hour} h works`);
  }
  minutes(29);
  assert.equal(await silentError(browser), 'login_required', 'the browser, unused for 2 h 29 min, is signed out');
  tokens = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  assert.ok(tokens.access_token, 'the client still refreshes after the browser was turned away');
});

test('a client that stops refreshing: the session goes idle idleTimeoutMinutes after its last access token expired', async () => {
  const browser = rpBrowser();
  const { tokens } = await signIn(rp, browser, ALICE);
  minutes(60 + 31);
  await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), refused);
  assert.equal(await silentError(browser), 'login_required');
});

test('refreshes never extend the session past its absolute lifetime', async () => {
  const browser = rpBrowser();
  let { tokens } = await signIn(rp, browser, ALICE);
  minutes(60);
  tokens = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  minutes(60);
  tokens = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  minutes(61); // 3 h 1 min after the sign-in
  await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), refused);
  assert.equal(await silentError(browser), 'login_required');
});

test('refreshes write the session at most once a minute', async () => {
  for (const session of await storedSessions()) await app.services.store.kv.delete('sso-session', session.id);
  let { tokens } = await signIn(rp, rpBrowser(), ALICE);
  const [signedIn] = await storedSessions();
  tokens = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  now += 30_000;
  tokens = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  assert.deepEqual(await storedSessions(), [signedIn], 'the code exchange recorded the use; refreshes within the minute wrote nothing');
  minutes(2);
  await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  const [refreshed] = await storedSessions();
  assert.equal(refreshed!.tokensUsableUntil, now + 3_600_000);
});

test('the browser using the session keeps it alive, for idleTimeoutMinutes after its last use; the access token issued at sign-in does not', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  minutes(29);
  assert.equal(await silentError(browser), null, 'a use by the browser (its code is never redeemed: no new tokens)');
  minutes(29);
  assert.equal(await silentError(browser), null, '29 minutes after it, the session stands');
  minutes(31);
  assert.equal(await silentError(browser), 'login_required', '31 minutes after it, signed out, though the first access token lasted 60 minutes');
});
