import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { parseForms, type Page, type TestBrowser } from '../helpers/browser.ts';
import { BackchannelReceiver } from '../helpers/backchannel-receiver.ts';
import { authRequest, callbackOf, createRp, createUser, createUserWithTotp, isCodePage, redeem, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { oidcClientsOf } from '../../src/oidc/session-clients.ts';
import { storeOrder, type StoreMatch as Match } from '../helpers/store-order.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';

/**
 * Two tabs of one browser open two applications at the same moment, both riding the SSO session:
 * oidc-provider loads the provider session in each request, adds its client's place and saves the
 * whole session when it answers. Neither place may be lost to the other request's save: a client
 * without its place is not told at logout (it keeps the user signed in after the IdP session
 * ended), is not named by `session list`, and its code and refresh tokens, bound to the session,
 * stop working. Also when one of the two requests is a sign-in that finishes (a second factor for
 * one application) and saves the session under a new cookie id.
 */
let now = Date.now();
const clock = { now: () => now };
let app: Booted;
let users = 0;
const receiver = new BackchannelReceiver();

before(async () => {
  await receiver.start();
  app = await boot({}, { clock });
});
after(async () => {
  await app?.close();
  await receiver.stop();
});

const readOf = (id: string, route?: string): Match => (operation) => operation.kind === 'get' && operation.namespace === 'oidc:Session' && operation.key === id && (!route || operation.route === route);
const sessionWritten = (which: (id: string) => boolean): Match => (operation) => operation.kind === 'set' && operation.namespace === 'oidc:Session' && which(operation.key);
const codeOf = (rp: TestRp): Match => (operation) => operation.kind === 'set' && operation.namespace === 'oidc:AuthorizationCode' && (operation.value as { payload: { clientId: string } }).payload.clientId === rp.client.id;

/** The browser's provider session id: the value of oidc-provider's session cookie. */
function providerSessionId(browser: TestBrowser): string {
  const id = browser.cookies.get(new URL(app.url).host)?.get('sg_oidc_session');
  assert.ok(id, 'the browser has a provider session');
  return id;
}

async function listedClients(userId: string): Promise<string[]> {
  const sessions = (await app.services.store.kv.entries<SsoSession>('sso-session')).filter(([, session]) => session.user.id === userId);
  assert.equal(sessions.length, 1, 'one SSO session of the user');
  return oidcClientsOf(app.services.store.kv, app.services.clock, app.services.sessions, sessions[0]![0]);
}

async function signOutEverywhere(browser: TestBrowser): Promise<void> {
  const done = await browser.submit(await browser.get(`${app.url}/logout`), {}, '/logout');
  assert.match(done.body, /You are signed out/);
}

/** Whether the store operation `sight` waited for has been done by now. */
function happened(sight: Promise<void>): Promise<boolean> {
  return Promise.race([sight.then(() => true), new Promise<boolean>((resolve) => setImmediate(resolve, false))]);
}

/** Races two requests of the browser under `order`, which it restores however they end. */
async function raced(order: ReturnType<typeof storeOrder>, requests: Array<() => Promise<Page>>): Promise<Page[]> {
  try {
    return await Promise.all(requests.map((request) => request()));
  } finally {
    order.restore();
  }
}

test('two authorizations at the same instant in one browser session: both clients keep their place, are listed, refresh and are told at logout', async () => {
  const credentials = { username: `tabs${++users}`, password: 'correct horse tabs' };
  const userId = await createUser(app, credentials);
  const first = await createRp(app);
  const uris = [receiver.endpoint(), receiver.endpoint()];
  const rps: TestRp[] = await Promise.all(uris.map((uri) => createRp(app, { backchannelLogoutUri: uri })));
  const browser = rpBrowser();
  await signIn(first, browser, credentials);

  const requests = await Promise.all(rps.map((rp) => authRequest(rp)));
  const order = storeOrder(app.services.store.kv);
  const id = providerSessionId(browser);
  // Neither request saves the session before both have loaded it.
  const bothLoaded = order.hold(readOf(id), order.seen(readOf(id)));
  const pages = await raced(order, requests.map((request) => () => browser.get(request.url.toString())));
  assert.ok(await happened(bothLoaded), 'both requests loaded the session before either saved it');

  assert.deepEqual(await listedClients(userId), [first, ...rps].map((rp) => rp.client.id).sort(), 'session list names both clients');
  for (const [index, rp] of rps.entries()) {
    const tokens = await redeem(rp, requests[index]!, callbackOf(rp, pages[index]!));
    assert.ok((await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!)).access_token, `${rp.client.id}: its refresh token works`);
  }
  await signOutEverywhere(browser);
  assert.deepEqual(
    uris.map((uri) => receiver.tokensAt(uri).length),
    [1, 1],
    'each client is sent a Logout Token',
  );
});

for (const savesFirst of ['the other tab', 'the sign-in']) {
  test(`a second factor finished in one tab while another tab is served through SSO, ${savesFirst} saving first: both clients keep their place and are told at logout`, async () => {
    const credentials = { username: `stepping${++users}`, password: 'correct horse stepping' };
    const { id: userId, secret } = await createUserWithTotp(app, credentials, now);
    now += 30_000;
    const first = await createRp(app);
    const uris = [receiver.endpoint(), receiver.endpoint()];
    const mfa = await createRp(app, { backchannelLogoutUri: uris[0], policy: 'permit-everyone-require-mfa' });
    const sso = await createRp(app, { backchannelLogoutUri: uris[1] });
    const browser = rpBrowser();
    await signIn(first, browser, credentials);

    const mfaRequest = await authRequest(mfa);
    const codePage = await browser.get(mfaRequest.url.toString());
    assert.ok(isCodePage(codePage), 'the second factor is asked for');
    const form = parseForms(codePage.body, codePage.url).find((candidate) => 'code' in candidate.fields)!;
    now += 30_000;
    const ssoRequest = await authRequest(sso);

    const order = storeOrder(app.services.store.kv);
    const oldId = providerSessionId(browser);
    // The SSO tab is judged before the second factor is in the SSO session (or it would be signed in
    // again too), and issues its code once the sign-in has loaded the session it is about to rotate.
    const resumeLoaded = order.seen(readOf(oldId, 'resume'));
    const rotated = order.seen(sessionWritten((id) => id !== oldId));
    const ssoHeld = order.hold(codeOf(sso), savesFirst === 'the other tab' ? resumeLoaded : rotated);
    if (savesFirst === 'the other tab') void order.hold(codeOf(mfa), order.seen(sessionWritten((id) => id === oldId)));
    // The second factor's answer finishes the sign-in in the same request: the resume, with the new cookie id.
    const secondFactor = async () => {
      await ssoHeld;
      return browser.request(form.action, { method: form.method, body: new URLSearchParams({ ...form.fields, code: oathtoolTotp(secret, now) }) });
    };
    const [mfaPage, ssoPage] = await raced(order, [secondFactor, () => browser.get(ssoRequest.url.toString())]);
    assert.ok((await happened(resumeLoaded)) && (await happened(rotated)), 'the sign-in loaded the session and saved it under a new cookie id');

    assert.deepEqual(await listedClients(userId), [first, mfa, sso].map((rp) => rp.client.id).sort(), 'session list names both clients');
    await redeem(mfa, mfaRequest, callbackOf(mfa, mfaPage!));
    await redeem(sso, ssoRequest, callbackOf(sso, ssoPage!));
    await signOutEverywhere(browser);
    assert.deepEqual(
      uris.map((uri) => receiver.tokensAt(uri).length),
      [1, 1],
      'each client is sent a Logout Token',
    );
  });
}
