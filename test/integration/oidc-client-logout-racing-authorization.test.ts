import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { type Page, type TestBrowser } from '../helpers/browser.ts';
import { BackchannelReceiver } from '../helpers/backchannel-receiver.ts';
import { authRequest, callbackOf, createRp, createUser, redeem, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { oidcClientsOf } from '../../src/oidc/session-clients.ts';
import { storeOrder } from '../helpers/store-order.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';

/**
 * One client logged out of (RP-initiated logout, "stay signed in": its place removed, the cookie id
 * rotated) while another tab of the browser signs in to a new client through SSO, in the orders the
 * saves can land in: the logged-out client stays out (not listed, not told again, its tokens dead),
 * the new one stays in (listed, refreshes, told at the final logout).
 */
let app: Booted;
let users = 0;
const receiver = new BackchannelReceiver();
before(async () => {
  await receiver.start();
  app = await boot({});
});
after(async () => {
  await app?.close();
  await receiver.stop();
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 20));
const providerSessionId = (browser: TestBrowser) => browser.cookies.get(new URL(app.url).host)!.get('sg_oidc_session')!;

async function listedClients(userId: string): Promise<string[]> {
  const sessions = (await app.services.store.kv.entries<SsoSession>('sso-session')).filter(([, session]) => session.user.id === userId);
  assert.equal(sessions.length, 1);
  return oidcClientsOf(app.services.store.kv, app.services.clock, app.services.sessions, sessions[0]![0]);
}

async function backchannelRp(): Promise<{ rp: TestRp; uri: string }> {
  const uri = receiver.endpoint();
  return { rp: await createRp(app, { backchannelLogoutUri: uri }), uri };
}

for (const order of ['the new client saving after the logout of one client', 'the new client saving under the old cookie id between the rotation\'s destroy and its save']) {
  test(`${order}: the logged-out client stays out, the new one stays in`, async () => {
    const credentials = { username: `clientout${++users}`, password: 'correct horse client out' };
    const userId = await createUser(app, credentials);
    const first = await backchannelRp();
    const y = await backchannelRp();
    const x = await backchannelRp();
    const browser = rpBrowser();
    await signIn(first.rp, browser, credentials);
    const yIn = await signIn(y.rp, browser, undefined);
    const oldId = providerSessionId(browser);

    const confirm = await browser.get(oidc.buildEndSessionUrl(y.rp.config, { id_token_hint: yIn.tokens.id_token! }).toString());
    const xRequest = await authRequest(x.rp);
    const kvOrder = storeOrder(app.services.store.kv);
    let pages: Page[];
    try {
      // x's authorization loads the session before the logout of y changes it.
      const xLoaded = kvOrder.seen((op) => op.kind === 'get' && op.namespace === 'oidc:Session' && op.key === oldId && op.route === 'authorization');
      const yLoaded = kvOrder.seen((op) => op.kind === 'get' && op.namespace === 'oidc:Session' && op.key === oldId && op.route === 'end_session_confirm');
      // The logout loads the session once x has.
      void kvOrder.hold((op) => op.kind === 'get' && op.namespace === 'oidc:Session' && op.key === oldId && op.route === 'end_session_confirm', xLoaded);
      let xSaved: Promise<void>;
      if (order.startsWith('the new client saving after')) {
        // Held before its save takes the session's turn: at the code, which is stored first.
        const yRotated = kvOrder.seen((op) => op.kind === 'set' && op.namespace === 'oidc:Session' && op.key !== oldId && op.route === 'end_session_confirm');
        void kvOrder.hold((op) => op.kind === 'set' && op.namespace === 'oidc:AuthorizationCode' && op.route === 'authorization', yRotated);
        xSaved = Promise.resolve();
      } else {
        // The logout's destroy of the old id (its second read of it, under the session's turn) waits
        // until x's code is stored, and x's code waits until that destroy has the turn: x's save then
        // queues behind the destroy and lands between it and the logout's save under the new id.
        let reads = 0;
        const xCode = kvOrder.seen((op) => op.kind === 'set' && op.namespace === 'oidc:AuthorizationCode' && op.route === 'authorization');
        const destroyHeld = kvOrder.hold((op) => op.kind === 'get' && op.namespace === 'oidc:Session' && op.key === oldId && op.route === 'end_session_confirm' && ++reads === 2, xCode.then(tick));
        void kvOrder.hold((op) => op.kind === 'set' && op.namespace === 'oidc:AuthorizationCode' && op.route === 'authorization', destroyHeld);
        xSaved = kvOrder.seen((op) => op.kind === 'set' && op.namespace === 'oidc:Session' && op.key === oldId && op.route === 'authorization');
      }
      pages = await Promise.all([browser.get(xRequest.url.toString()), browser.submit(confirm, {})]);
      await Promise.all([yLoaded, xSaved]);
    } finally {
      kvOrder.restore();
    }
    assert.equal(receiver.tokensAt(y.uri).length, 1, 'y is told of its own logout');
    const listed = await listedClients(userId);
    assert.deepEqual(listed, [first.rp.client.id, x.rp.client.id].sort(), 'session list: first and x, not y');
    const xTokens = await redeem(x.rp, xRequest, callbackOf(x.rp, pages[0]!));
    assert.ok((await oidc.refreshTokenGrant(x.rp.config, xTokens.refresh_token!)).access_token, 'x refreshes');
    await assert.rejects(oidc.refreshTokenGrant(y.rp.config, yIn.tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant', 'y\'s refresh token is dead');
    // Whichever of the two answers set the browser's cookie last, the final logout tells first and x once, y not again.
    for (const cookie of [providerSessionId(browser), oldId]) {
      const copy = rpBrowser();
      for (const [host, jar] of browser.cookies) copy.cookies.set(host, new Map(jar));
      copy.cookies.get(new URL(app.url).host)!.set('sg_oidc_session', cookie);
      const zAuth = await authRequest(first.rp);
      const zPage = await copy.get(zAuth.url.toString());
      assert.ok(zPage.headers.get('location')?.startsWith(first.rp.redirectUri), `SSO with the cookie ${cookie === oldId ? 'of the old id' : 'of the new id'}`);
      assert.deepEqual(await listedClients(userId), [first.rp.client.id, x.rp.client.id].sort(), `still first and x after an SSO with the cookie ${cookie === oldId ? 'of the old id' : 'of the new id'}`);
    }
    const done = await browser.submit(await browser.get(`${app.url}/logout`), {}, '/logout');
    assert.match(done.body, /You are signed out/);
    assert.deepEqual([first, x, y].map(({ uri }) => receiver.tokensAt(uri).length), [1, 1, 1], 'first and x told once at the logout, y only at its own');
  });
}

test('the logout of one client saves its session under a new cookie id while another tab\'s save of a new client lands later under the old one, and the logout\'s answer reaches the browser last: an RP-initiated logout of everything then tells the new client too', async () => {
  const credentials = { username: `clientout${++users}`, password: 'correct horse client out' };
  await createUser(app, credentials);
  const first = await backchannelRp();
  const y = await backchannelRp();
  const x = await backchannelRp();
  const browser = rpBrowser();
  const one = await signIn(first.rp, browser, credentials);
  const yIn = await signIn(y.rp, browser, undefined);
  const oldId = providerSessionId(browser);

  const confirm = await browser.get(oidc.buildEndSessionUrl(y.rp.config, { id_token_hint: yIn.tokens.id_token! }).toString());
  const xRequest = await authRequest(x.rp);
  const kvOrder = storeOrder(app.services.store.kv);
  let pages: Page[];
  let newId = '';
  try {
    const xLoaded = kvOrder.seen((op) => op.kind === 'get' && op.namespace === 'oidc:Session' && op.key === oldId && op.route === 'authorization');
    void kvOrder.hold((op) => op.kind === 'get' && op.namespace === 'oidc:Session' && op.key === oldId && op.route === 'end_session_confirm', xLoaded);
    const yRotated = kvOrder.seen((op) => {
      const rotated = op.kind === 'set' && op.namespace === 'oidc:Session' && op.key !== oldId && op.route === 'end_session_confirm';
      if (rotated) newId = op.key;
      return rotated;
    });
    void kvOrder.hold((op) => op.kind === 'set' && op.namespace === 'oidc:AuthorizationCode' && op.route === 'authorization', yRotated);
    pages = await Promise.all([browser.get(xRequest.url.toString()), browser.submit(confirm, {})]);
  } finally {
    kvOrder.restore();
  }
  await redeem(x.rp, xRequest, callbackOf(x.rp, pages[0]!));
  // The logout's answer (cookie: the new id) is the one the browser keeps.
  browser.cookies.get(new URL(app.url).host)!.set('sg_oidc_session', newId);
  const everything = await browser.get(oidc.buildEndSessionUrl(first.rp.config, { id_token_hint: one.tokens.id_token!, post_logout_redirect_uri: first.rp.postLogoutRedirectUri }).toString());
  await browser.submit(everything, { logout: 'yes' });
  assert.deepEqual([first, x].map(({ uri }) => receiver.tokensAt(uri).length), [1, 1], 'first and x are each sent a Logout Token');
});
