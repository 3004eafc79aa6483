import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { createRp, createUser, rpBrowser, signIn, stored, type TestRp } from '../helpers/oidc-rp.ts';

/**
 * RP-initiated logout requests. Requests anyone can send without signing in must not leave records
 * in the store: a sign-out request from a browser signed in nowhere, and requests carrying the
 * oidc-provider session cookie of a session that has ended. Each used to store a provider session
 * kept for the SSO session's lifetime (10 hours by default), one per request. The one such session
 * still stored, a sign-out confirmation in a browser with only an SSO session, lasts as a sign-in.
 * The confirmation is Stepgate's form: posted from another site, it is refused as every form is.
 */
const ALICE = { username: 'alice', password: 'Passw0rd!alice' };
const PROVIDER_SESSION_COOKIE = 'sg_oidc_session';
const SIGN_IN_LIFE_MS = 15 * 60_000;

let now = Date.now();
const clock = { now: () => now };
let app: Booted;
let rp: TestRp;

before(async () => {
  app = await boot({}, { clock });
  rp = await createRp(app);
  await createUser(app, ALICE);
});

after(async () => {
  await app?.close();
});

test('a sign-out request from a browser signed in nowhere goes straight where its confirmation would lead, and stores nothing', async () => {
  const before = await stored(app, 'Session');
  const back = oidc.buildEndSessionUrl(rp.config, { post_logout_redirect_uri: rp.postLogoutRedirectUri, state: 'st-1' }).toString();
  for (let i = 0; i < 5; i++) {
    const answer = await rpBrowser().get(back);
    assert.equal(answer.status, 303, answer.body.slice(0, 300));
    const location = new URL(answer.headers.get('location')!);
    assert.equal(`${location.origin}${location.pathname}`, rp.postLogoutRedirectUri);
    assert.equal(location.searchParams.get('state'), 'st-1');
  }

  const plain = await new TestBrowser().get(new URL('/oidc/session/end', app.url).toString());
  assert.equal(plain.status, 200);
  assert.equal(new URL(plain.url).pathname, '/oidc/session/end/success');
  assert.match(plain.body, /There was no sign-in here to end/);

  assert.equal(await stored(app, 'Session'), before, 'no provider session stored for them');
});

test('the cookie of a provider session that ended makes no new one at later requests', async () => {
  const browser = rpBrowser();
  const { tokens } = await signIn(rp, browser, ALICE);
  const jar = browser.cookies.get(new URL(app.url).host)!;
  const ended = [jar.get(PROVIDER_SESSION_COOKIE)!, jar.get(`${PROVIDER_SESSION_COOKIE}.sig`)!];
  const confirmation = await browser.get(oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token! }).toString());
  await browser.submit(confirmation, { logout: 'yes' });
  const before = await stored(app, 'Session');

  for (let i = 0; i < 5; i++) {
    const replay = rpBrowser();
    replay.cookies.set(new URL(app.url).host, new Map([[PROVIDER_SESSION_COOKIE, ended[0]!], [`${PROVIDER_SESSION_COOKIE}.sig`, ended[1]!]]));
    const page = await replay.get(oidc.buildAuthorizationUrl(rp.config, { redirect_uri: rp.redirectUri, scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }).toString());
    assert.equal(page.status, 200, 'the sign-in page');
  }

  assert.equal(await stored(app, 'Session'), before, 'no provider session stored for them');
});

test('a browser signed in to Stepgate is still asked before a sign-out ends its session', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  const confirmation = await browser.get(oidc.buildEndSessionUrl(rp.config, { post_logout_redirect_uri: rp.postLogoutRedirectUri, state: 'st-2' }).toString());
  assert.equal(confirmation.status, 200);
  assert.match(confirmation.body, /<button type="submit" name="logout" value="yes">Sign out<\/button>/);
  const done = await browser.submit(confirmation, { logout: 'yes' });
  assert.equal(done.status, 303);
  assert.equal(new URL(done.headers.get('location')!).searchParams.get('state'), 'st-2');
});

test('a sign-out confirmation kept for a browser with only an SSO session lasts as a sign-in page does; confirmed later, it ends nothing and says so', async () => {
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  const jar = browser.cookies.get(new URL(app.url).host)!;
  for (const name of [...jar.keys()]) if (name.startsWith(PROVIDER_SESSION_COOKIE)) jar.delete(name);
  const entries = () => app.services.store.kv.entries<{ payload: { accountId?: string }; expiresAt?: number }>('oidc:Session');
  const before = new Set((await entries()).map(([id]) => id));

  const confirmation = await browser.get(new URL('/oidc/session/end', app.url).toString());
  assert.match(confirmation.body, /<button type="submit" name="logout" value="yes">Sign out<\/button>/);
  const kept = (await entries()).filter(([id]) => !before.has(id)).map(([, entry]) => entry);
  assert.equal(kept.length, 1);
  assert.equal(kept[0]!.payload.accountId, undefined);
  assert.ok(kept[0]!.expiresAt! <= now + SIGN_IN_LIFE_MS, `kept until ${new Date(kept[0]!.expiresAt!).toISOString()}`);

  now += SIGN_IN_LIFE_MS + 60_000;
  const late = await browser.submit(confirmation, { logout: 'yes' });
  assert.match(late.body, /<h1>Not signed out<\/h1>/);
  await signIn(rp, browser, undefined); // still signed in: no password page
});

test('a sign-out confirmation posted from another site is refused and ends nothing; from this site it signs out', async () => {
  const browser = rpBrowser();
  const { tokens } = await signIn(rp, browser, ALICE);
  const confirmation = await browser.get(oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token! }).toString());
  const mark = app.logs.length;

  const forged = await browser.submit(confirmation, { logout: 'yes' }, undefined, { origin: 'https://elsewhere.example' });
  assert.equal(forged.status, 403);
  assert.ok(app.logs.slice(mark).some((line) => line['code'] === 'CSRF_FAILED'), 'logged');
  const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  assert.ok(refreshed.access_token, 'still signed in: the refresh token works');

  const own = await browser.submit(confirmation, { logout: 'yes' }, undefined, { origin: new URL(app.url).origin });
  assert.equal(own.status, 200);
  assert.match(own.body, /You are signed out/);
  await assert.rejects(oidc.refreshTokenGrant(rp.config, refreshed.refresh_token!), 'signed out: refresh refused');
});
