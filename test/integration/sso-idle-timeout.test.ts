import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { authRequest, callbackOf, createRp, createUser, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';

/**
 * The SSO session's idle timeout counts the user's use of it (their browser), not a relying party's
 * back end refreshing tokens: a client refreshing every 20 minutes must not keep a session alive
 * that nobody has used for longer than session.idleTimeoutMinutes.
 */
const ALICE = { username: 'alice', password: 'correct horse 1' };
let now = Date.now();
const clock = { now: () => now };
const minutes = (count: number) => void (now += count * 60_000);
let app: Booted;
let rp: TestRp;

before(async () => {
  app = await boot({ session: { idleTimeoutMinutes: 30 } }, { clock });
  await createUser(app, ALICE);
  rp = await createRp(app);
});
after(() => app?.close());

test("a client's refresh grants do not keep an idle SSO session alive", async () => {
  const browser = rpBrowser();
  const { tokens } = await signIn(rp, browser, ALICE);
  minutes(20);
  const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  assert.ok(refreshed.access_token, 'within the idle timeout the refresh works');
  minutes(20); // 40 minutes since the browser last used the session

  await assert.rejects(oidc.refreshTokenGrant(rp.config, refreshed.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
  const silent = await authRequest(rp, { prompt: 'none' });
  assert.equal(callbackOf(rp, await browser.get(silent.url.toString())).searchParams.get('error'), 'login_required');
});

test('the browser using the session keeps it alive', async () => {
  const browser = rpBrowser();
  const { tokens } = await signIn(rp, browser, ALICE);
  minutes(20);
  await signIn(rp, browser, undefined); // SSO in the browser: a use
  minutes(20);
  const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  assert.ok(refreshed.access_token, '20 minutes after the last use, the session stands');
});
