import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import type { Page, TestBrowser } from '../helpers/browser.ts';
import { BackchannelReceiver } from '../helpers/backchannel-receiver.ts';
import { createRp, createUser, rpAndSpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest, sendToIdp } from '../helpers/saml-sp.ts';

/**
 * RP-initiated logout from a browser that signed in through SAML only, so oidc-provider has no
 * session for it: the logout must still ask, end the Stepgate SSO session, tell the session's
 * applications, and its last page must say what happened.
 */
const BOB = { username: 'bob', password: 'battery staple 2' };
let app: Booted;
let bobId: string;
let sp: TestSp;
let rp: TestRp;
const receiver = new BackchannelReceiver();

before(async () => {
  await receiver.start();
  app = await boot();
  bobId = await createUser(app, { ...BOB, name: 'Bob' });
  sp = await TestSp.create(app, { name: 'saml-only-sp', redirectSlo: true });
  rp = await createRp(app);
});
after(async () => {
  await app?.close();
  await receiver.stop();
});

async function samlSignIn(browser: TestBrowser): Promise<void> {
  const page = await browser.submit(await sendAuthnRequest(browser, sp), BOB);
  await sp.validate(samlPostForm(page).fields.SAMLResponse!);
}

/** The SP answers Stepgate's LogoutRequest with Success; the browser carries it back and goes on. */
async function spConfirms(browser: TestBrowser, page: Page): Promise<Page> {
  const told = await sp.receiveLogoutRequest(page);
  return sendToIdp(browser, await sp.logoutResponse(told.profile, told.relayState, { binding: told.binding }));
}

const endSessionUrl = (params: Record<string, string> = {}) => oidc.buildEndSessionUrl(rp.config, params).toString();

async function assertSignedOutEverywhere(browser: TestBrowser): Promise<void> {
  assert.ok(isPasswordPage(await sendAuthnRequest(browser, sp)), 'the SAML app asks for the password again');
  await signIn(rp, browser, BOB);
}

async function rpInitiatedLogouts(): Promise<unknown[]> {
  return (await app.services.store.audit.query({ limit: 500 })).events.filter((event) => event.type === 'logout' && event.reason === 'oidc-rp-initiated' && event.userId === bobId);
}

test('without post_logout_redirect_uri: asks first, naming the account, then ends the SSO session, tells the SAML app, and says "signed out"', async () => {
  const browser = rpAndSpBrowser();
  await samlSignIn(browser);
  const auditBefore = (await rpInitiatedLogouts()).length;

  const confirm = await browser.get(endSessionUrl());
  assert.equal(confirm.status, 200);
  assert.match(confirm.body, /Signed in here as <strong>bob<\/strong>/);
  assert.match(confirm.body, /<button type="submit" name="logout" value="yes">Sign out<\/button>/);
  assert.doesNotMatch(confirm.body, /signed out/i, 'nothing ended yet');

  const done = await spConfirms(browser, await browser.submit(confirm, { logout: 'yes' }));
  assert.equal(new URL(done.url).pathname, '/oidc/session/end/success');
  assert.match(done.body, /<p role="status">You are signed out\. You can close this window\.<\/p>/);
  assert.equal((await rpInitiatedLogouts()).length, auditBefore + 1, 'audited as the normal RP-initiated logout');

  const reloaded = await browser.get(done.url);
  assert.match(reloaded.body, /There was no sign-in here to end/, 'the page says it once, for the logout that ended the session');
  await assertSignedOutEverywhere(browser);
});

test('with client_id and post_logout_redirect_uri: asks instead of going straight back, then the back-channel clients and the SAML app are told', async () => {
  const uri = receiver.endpoint();
  const backchannel = await createRp(app, { backchannelLogoutUri: uri });
  const browser = rpAndSpBrowser();
  await samlSignIn(browser);
  // The SSO session also signed in to this client; its provider session is not in the browser any more.
  await signIn(backchannel, browser, undefined);
  browser.cookies.get(new URL(app.url).host)!.delete('sg_oidc_session');

  const confirm = await browser.get(endSessionUrl({ client_id: rp.client.id, post_logout_redirect_uri: rp.postLogoutRedirectUri, state: 'bye' }));
  assert.equal(confirm.status, 200, 'a confirmation, not a redirect to the application');
  assert.match(confirm.body, new RegExp(`<strong>${rp.client.name}</strong> asks to sign you out`));

  const back = await spConfirms(browser, await browser.submit(confirm, { logout: 'yes' }));
  assert.equal(back.status, 303);
  const location = new URL(back.headers.get('location')!);
  assert.equal(`${location.origin}${location.pathname}`, rp.postLogoutRedirectUri);
  assert.equal(location.searchParams.get('state'), 'bye');
  assert.equal(receiver.tokensAt(uri).length, 1, 'the back-channel client got its Logout Token');
  assert.doesNotMatch((await browser.get(`${app.url}/logout`)).body, /signed in as/);
  await assertSignedOutEverywhere(browser);
});

test('"Stay signed in" ends nothing and says so', async () => {
  const browser = rpAndSpBrowser();
  await samlSignIn(browser);
  // Without client_id (openid-client's URL always names the client).
  const stayed = await browser.submit(await browser.get(`${app.url}/oidc/session/end`));
  assert.equal(new URL(stayed.url).pathname, '/oidc/session/end/success');
  assert.match(stayed.body, /<h1>Still signed in<\/h1>\n<p role="status">You are still signed in here\./);
  assert.ok(!isPasswordPage(await sendAuthnRequest(browser, sp)), 'the SAML app still signs in without a password');
});

test('a browser signed in nowhere is asked nothing and told there was no sign-in to end', async () => {
  const browser = rpAndSpBrowser();
  const done = await browser.get(endSessionUrl());
  assert.doesNotMatch(done.body, /Sign out<\/button>/);
  assert.equal(new URL(done.url).pathname, '/oidc/session/end/success');
  assert.match(done.body, /<p role="status">There was no sign-in here to end\. You can close this window\.<\/p>/);
});

test('a confirmation without the page\'s xsrf value (a form from another page of the same site) ends nothing', async () => {
  const browser = rpAndSpBrowser();
  await samlSignIn(browser);
  const confirm = await browser.get(endSessionUrl());
  const refused = await browser.submit(confirm, { logout: 'yes', xsrf: 'not-the-one-on-the-page' });
  assert.equal(refused.status, 400);
  assert.ok(!isPasswordPage(await sendAuthnRequest(browser, sp)), 'the SAML app still signs in without a password');
});
