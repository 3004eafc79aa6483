import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import type { TestBrowser } from '../helpers/browser.ts';
import { BackchannelReceiver } from '../helpers/backchannel-receiver.ts';
import { authRequest, callbackOf, createRp, createUser, isPasswordPage, redeem, rpBrowser, signIn, stored, type TestRp } from '../helpers/oidc-rp.ts';

const ALICE = { username: 'alice', password: 'correct horse 1' };
const BOB = { username: 'bob', password: 'battery staple 2' };
let app: Booted;
let aliceId: string;
let bobId: string;
let rp: TestRp;
const receiver = new BackchannelReceiver();

/**
 * Stepgate's clock (sign-in times, auth_time, max_age) is real time plus an offset the tests move
 * forward instead of sleeping past a second; it never falls behind real time, and stays within
 * seconds of it, as oidc-provider and openid-client keep their own (real) time.
 */
let ahead = 0;
const clock = { now: () => Date.now() + ahead };
const secondsLater = (seconds: number) => void (ahead += seconds * 1000);

before(async () => {
  await receiver.start();
  app = await boot({}, { clock });
  aliceId = await createUser(app, { ...ALICE, name: 'Alice' });
  bobId = await createUser(app, { ...BOB, name: 'Bob' });
  rp = await createRp(app);
});
after(async () => {
  await app?.close();
  await receiver.stop();
});

const host = (): string => new URL(app.url).host;
const cookie = (browser: TestBrowser, name: string): string | undefined => browser.cookies.get(host())?.get(name);

/** prompt=none: the authorization response, which is either a code or an error, never a page. */
async function silent(browser: TestBrowser, client: TestRp = rp): Promise<{ callback: URL; request: Awaited<ReturnType<typeof authRequest>> }> {
  const request = await authRequest(client, { prompt: 'none' });
  const page = await browser.get(request.url.toString());
  return { callback: callbackOf(client, page), request };
}

async function stepgateLogout(browser: TestBrowser): Promise<void> {
  const confirm = await browser.get(`${app.url}/logout`);
  const done = await browser.submit(confirm, {}, '/logout');
  assert.match(done.url, /\/signed-out$/);
}

test('Stepgate logout ends the OIDC session: password page again, prompt=none login_required, session-bound refresh token refused', async () => {
  const browser = rpBrowser();
  const { tokens } = await signIn(rp, browser, ALICE);
  assert.ok(cookie(browser, 'sg_oidc_session'), 'oidc-provider keeps its own session cookie');
  await stepgateLogout(browser);

  const { callback } = await silent(browser);
  assert.equal(callback.searchParams.get('error'), 'login_required');
  assert.equal(callback.searchParams.get('code'), null);
  await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
  await assert.rejects(oidc.fetchUserInfo(rp.config, tokens.access_token, aliceId));
  await signIn(rp, browser, ALICE);
});

test('prompt=none: a code with a live session, login_required without one, no page either way', async () => {
  const browser = rpBrowser();
  const none = await silent(browser);
  assert.equal(none.callback.searchParams.get('error'), 'login_required');
  assert.equal(cookie(browser, 'sg_oidc_session'), undefined, 'a refused request leaves no session behind');

  await signIn(rp, browser, ALICE);
  const { callback, request } = await silent(browser);
  const tokens = await redeem(rp, request, callback);
  assert.equal(tokens.claims()?.sub, aliceId);
});

test('prompt=none follows the Stepgate SSO session even where oidc-provider has none yet', async () => {
  const browser = rpBrowser();
  const first = await signIn(rp, browser, ALICE);
  // As after a SAML sign-in: a Stepgate session, but no oidc-provider session in this browser.
  browser.cookies.get(host())!.delete('sg_oidc_session');
  const other = await createRp(app);
  const { callback, request } = await silent(browser, other);
  const tokens = await redeem(other, request, callback);
  assert.equal(tokens.claims()?.sub, aliceId);
  assert.equal(tokens.claims()?.auth_time, first.claims.auth_time, 'the Stepgate sign-in time, not a new one');
});

test('prompt=login asks for the password despite the session, with a new auth_time', async () => {
  const browser = rpBrowser();
  const first = await signIn(rp, browser, ALICE);
  secondsLater(1.1);
  const again = await signIn(rp, browser, ALICE, { prompt: 'login' });
  assert.equal(again.claims.sub, aliceId);
  assert.ok((again.claims.auth_time as number) > (first.claims.auth_time as number));
  // The re-authenticated session still carries SSO and its refresh token.
  await signIn(rp, browser, undefined);
  assert.ok((await oidc.refreshTokenGrant(rp.config, again.tokens.refresh_token!)).access_token);
});

test("prompt=login as another user switches the browser cleanly; the first user's tokens end with their session", async () => {
  const browser = rpBrowser();
  const alice = await signIn(rp, browser, ALICE);
  const bob = await signIn(rp, browser, BOB, { prompt: 'login' });
  assert.equal(bob.claims.sub, bobId);
  assert.equal((await signIn(rp, browser, undefined)).claims.sub, bobId);
  await assert.rejects(oidc.refreshTokenGrant(rp.config, alice.tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
  const ended = (await app.services.store.audit.query({ types: ['session.ended'], user: aliceId })).events;
  assert.deepEqual(ended.map((event) => event.reason), ['another-user-signed-in'], "the end of alice's session is audited with its cause");
  assert.deepEqual((await app.services.store.audit.query({ types: ['session.ended'], user: bobId })).events, [], "bob's own re-authentications end nothing");
  await signIn(rp, browser, BOB, { prompt: 'login' });
  assert.equal((await app.services.store.audit.query({ types: ['session.ended'] })).events.length, 1);
});

test('max_age: an old enough sign-in asks for the password again, a recent one does not', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  await signIn(rp, browser, undefined, { max_age: '60' });
  secondsLater(1.1);
  const fresh = await signIn(rp, browser, ALICE, { max_age: '1' });
  assert.ok(Math.floor(clock.now() / 1000) - (fresh.claims.auth_time as number) <= 1);
  const passive = await authRequest(rp, { prompt: 'none', max_age: '0' });
  secondsLater(1.1);
  assert.equal(callbackOf(rp, await browser.get(passive.url.toString())).searchParams.get('error'), 'login_required');
});

test('RP-initiated logout (confirmed) ends the Stepgate session and returns to the registered URI with state', async () => {
  const browser = rpBrowser();
  const { tokens } = await signIn(rp, browser, ALICE);
  const url = oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: rp.postLogoutRedirectUri, state: 'bye' });
  const confirm = await browser.get(url.toString());
  assert.equal(confirm.status, 200);
  assert.match(confirm.body, /Sign out/);
  const done = await browser.submit(confirm, { logout: 'yes' });
  const back = new URL(done.headers.get('location')!);
  assert.equal(`${back.origin}${back.pathname}`, rp.postLogoutRedirectUri);
  assert.equal(back.searchParams.get('state'), 'bye');

  assert.equal(cookie(browser, app.services.config.session.cookieName), undefined, 'Stepgate session cookie cleared');
  const page = await browser.get((await authRequest(rp)).url.toString());
  assert.ok(isPasswordPage(page), 'next authorization shows the password page');
  assert.ok((await app.services.store.audit.query({ limit: 20 })).events.some((event) => event.type === 'logout' && event.reason === 'oidc-rp-initiated' && event.userId === aliceId));
});

test('RP-initiated logout names the account signed in here, and says so when the hint names another account', async () => {
  const { tokens: aliceTokens } = await signIn(rp, rpBrowser(), ALICE);
  const bobBrowser = rpBrowser();
  const { tokens: bobTokens } = await signIn(rp, bobBrowser, BOB);
  const own = await bobBrowser.get(oidc.buildEndSessionUrl(rp.config, { id_token_hint: bobTokens.id_token! }).toString());
  assert.match(own.body, /Signed in here as <strong>bob<\/strong>/);
  assert.doesNotMatch(own.body, /different account/);
  const foreign = await bobBrowser.get(oidc.buildEndSessionUrl(rp.config, { id_token_hint: aliceTokens.id_token! }).toString());
  assert.equal(foreign.status, 200);
  assert.match(foreign.body, /Signed in here as <strong>bob<\/strong>/);
  assert.match(foreign.body, /asked to sign out a different account than the one signed in here/);
});

test('RP-initiated logout refused ("stay signed in") keeps the SSO session: the page says so, and no other application is told of a logout', async () => {
  const browser = rpBrowser();
  const { tokens } = await signIn(rp, browser, ALICE);
  // Another application of the same SSO session, which would get a Logout Token were the session to end.
  const otherUri = receiver.endpoint();
  const other = await createRp(app, { backchannelLogoutUri: otherUri });
  const otherTokens = (await signIn(other, browser, undefined)).tokens;
  const logouts = async () => (await app.services.store.audit.query({ types: ['logout', 'oidc.backchannel-logout'], user: aliceId, limit: 100 })).events.length;
  const logoutsBefore = await logouts();

  const confirm = await browser.get(oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token! }).toString());
  const answer = await browser.submit(confirm, {});
  // No post_logout_redirect_uri: oidc-provider's own end page, naming the client that asked.
  assert.equal(answer.status, 200);
  assert.match(new URL(answer.url).pathname, /^\/oidc\/session\/end\/success$/);
  assert.match(answer.body, /<h1>Still signed in<\/h1>\n<p role="status">/, 'it reports what was done: a status, not an alert');
  assert.match(answer.body, new RegExp(`You are signed out of ${rp.client.name} only\\. You are still signed in here`));
  assert.doesNotMatch(answer.body, /You are signed out\. You can close this window/, 'not the page of a logout that ended the session');
  assert.ok(cookie(browser, app.services.config.session.cookieName), 'the Stepgate session cookie stays');

  // The logout of the asking client is answered only after every Logout Token was sent, so none is on its way.
  assert.deepEqual(receiver.tokensAt(otherUri), [], 'the other application is sent no Logout Token');
  assert.equal(await logouts(), logoutsBefore, 'no logout and no back-channel logout is audited');
  assert.ok((await oidc.refreshTokenGrant(other.config, otherTokens.refresh_token!)).access_token, "the other application's session-bound refresh token still works");
  await signIn(rp, browser, undefined);
  await signIn(other, browser, undefined);
});

test('a session-bound refresh token keeps working while the SSO session lives and stops at its idle timeout', async () => {
  const links = async () => new Map(await app.services.store.kv.entries<string>('oidc-sso-link'));
  const sessions = await stored(app, 'Session');
  const linked = await links();
  const { tokens } = await signIn(rp, rpBrowser(), ALICE);
  assert.equal(await stored(app, 'Session'), sessions + 1);
  const rotated = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  // Ending the Stepgate session server-side (as its idle timeout does) is enough; no browser involved.
  const [ssoId] = [...(await links())].filter(([uid]) => !linked.has(uid)).map(([, id]) => id);
  await app.services.sessions.take(ssoId!);
  await assert.rejects(oidc.refreshTokenGrant(rp.config, rotated.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
});
