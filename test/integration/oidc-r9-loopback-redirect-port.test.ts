import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { authRequest, createRp, createUser, isPasswordPage, redeem, rpBrowser, type TestRp } from '../helpers/oidc-rp.ts';

/**
 * RFC 8252 §7.3: a public (native) client registered with an http redirect URI on a loopback IP
 * literal may name any port in its request, as a native app listening on a port the system gave it
 * does; every other part of the URI, and every other client, still matches exactly. The rule holds
 * at each place a redirect URI is checked: the authorization request, the finish of the sign-in,
 * the token endpoint, and RP-initiated logout's post-logout redirect URI.
 */
const ALICE = { username: 'alice', password: 'correct horse 42' };
/** createRp registers http://127.0.0.1:9/rp/<tag>/callback; the native app listens here instead. */
const OTHER_PORT = 51234;
let app: Booted;
let native: TestRp;
let confidential: TestRp;

before(async () => {
  app = await boot();
  await createUser(app, ALICE);
  native = await createRp(app, { public: true });
  confidential = await createRp(app);
});
after(() => app?.close());

function onPort(uri: string, port: number): string {
  const url = new URL(uri);
  url.port = String(port);
  return url.href;
}

/** A browser that stops at the callbacks, on any loopback port. */
function loopbackBrowser() {
  const browser = rpBrowser();
  browser.stopAt.push('http://127.0.0.1:', 'http://[::1]:', 'http://localhost:');
  return browser;
}

async function authorize(rp: TestRp, redirectUri: string) {
  const request = await authRequest(rp, { redirect_uri: redirectUri });
  return { request, page: await loopbackBrowser().get(request.url.toString()) };
}

function assertRefused(page: { status: number; body: string; headers: Headers }, what: string): void {
  assert.equal(page.status, 400, what);
  assert.match(page.body, /Unknown return address/, what);
  assert.equal(page.headers.get('location'), null, `${what}: never a redirect`);
}

test('a public client registered on http://127.0.0.1 signs in on another port, and its code is redeemed with that redirect_uri (openid-client)', async () => {
  const redirectUri = onPort(native.redirectUri, OTHER_PORT);
  const browser = loopbackBrowser();
  const request = await authRequest(native, { redirect_uri: redirectUri });
  const passwordPage = await browser.get(request.url.toString());
  assert.ok(isPasswordPage(passwordPage), `expected the password page, got ${passwordPage.status} ${passwordPage.body.slice(0, 200)}`);
  const answer = await browser.submit(passwordPage, ALICE);
  const location = answer.headers.get('location');
  assert.ok(location?.startsWith(`${redirectUri}?`), `the code goes to the port asked for, got ${answer.status} ${location}`);
  // openid-client sends the callback's address as the token request's redirect_uri.
  const tokens = await redeem(native, request, new URL(location!));
  assert.ok(tokens.access_token);
  assert.equal(tokens.claims()!.aud, native.client.id);
});

test('the same request from a confidential client registered on http://127.0.0.1 is refused: its URIs match exactly', async () => {
  assertRefused((await authorize(confidential, onPort(confidential.redirectUri, OTHER_PORT))).page, 'confidential client, another port');
});

test('a public client registered on http://localhost (a name, not a loopback IP literal) keeps its port', async () => {
  const registered = 'http://localhost:9/native/callback';
  const rp = await createRp(app, { public: true, redirectUris: [registered] });
  assertRefused((await authorize(rp, onPort(registered, OTHER_PORT))).page, 'localhost, another port');
  assert.ok(isPasswordPage((await authorize(rp, registered)).page), 'its registered URI works');
});

test('another port changes nothing else: another path, a query, a trailing slash, https or another loopback host are refused', async () => {
  const base = onPort(native.redirectUri, OTHER_PORT);
  for (const uri of [base.replace(/callback$/, 'other'), `${base}?x=1`, `${base}/`, base.replace('http:', 'https:'), base.replace('127.0.0.1', '[::1]'), base.replace('127.0.0.1', 'localhost')]) {
    assertRefused((await authorize(native, uri)).page, uri);
  }
});

test('http://[::1] too: a public client registered there is sent to the port it asks for', async () => {
  const registered = 'http://[::1]:9/native/callback';
  const rp = await createRp(app, { public: true, redirectUris: [registered] });
  assert.ok(isPasswordPage((await authorize(rp, onPort(registered, OTHER_PORT))).page));
});

test('RP-initiated logout returns a public client to its post-logout URI on another port, a confidential client only to the one registered', async () => {
  for (const [rp, accepted] of [[native, true], [confidential, false]] as const) {
    const browser = loopbackBrowser();
    const request = await authRequest(rp);
    const location = (await browser.submit(await browser.get(request.url.toString()), ALICE)).headers.get('location')!;
    const tokens = await redeem(rp, request, new URL(location));
    const postLogout = onPort(rp.postLogoutRedirectUri, OTHER_PORT);
    const confirm = await browser.get(oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: postLogout }).toString());
    if (!accepted) {
      assert.equal(confirm.status, 400, 'confidential: refused');
      continue;
    }
    assert.equal(confirm.status, 200, `public: asked to confirm, got ${confirm.status}`);
    const done = await browser.submit(confirm, { logout: 'yes' });
    assert.equal(done.status, 303);
    assert.equal(new URL(done.headers.get('location')!).href.split('?')[0], postLogout);
  }
});
