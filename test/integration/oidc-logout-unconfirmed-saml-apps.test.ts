import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import type { Page, TestBrowser } from '../helpers/browser.ts';
import { createRp, createUser, rpAndSpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest, sendToIdp } from '../helpers/saml-sp.ts';

/**
 * An OIDC client's RP-initiated logout without a post-logout redirect URI ends on Stepgate's own
 * signed-out page. When a SAML application of the session did not confirm the sign-out (it answered
 * another status, or has no SingleLogoutService), the person is told which, as /logout tells them:
 * on a shared computer "You are signed out" alone sends them away from an application still open.
 */
const CAROL = { username: 'carol', password: 'battery staple 3' };
const RESPONDER = 'urn:oasis:names:tc:SAML:2.0:status:Responder';
let app: Booted;
let sp: TestSp;
let noSlo: TestSp;
let rp: TestRp;

before(async () => {
  app = await boot();
  await createUser(app, { ...CAROL, name: 'Carol' });
  sp = await TestSp.create(app, { name: 'unconfirmed-sp', redirectSlo: true, register: { name: 'Wiki' } });
  noSlo = await TestSp.create(app, { name: 'unconfirmed-noslo', noSlo: true, register: { name: 'Timesheets' } });
  rp = await createRp(app);
});
after(() => app?.close());

async function samlSignIn(browser: TestBrowser, at: TestSp): Promise<void> {
  let page = await sendAuthnRequest(browser, at);
  if (isPasswordPage(page)) page = await browser.submit(page, CAROL);
  await at.validate(samlPostForm(page).fields.SAMLResponse!);
}

/** Signs out at the client (its ID Token as the hint, and `params`), confirming on Stepgate's page. */
async function rpLogout(browser: TestBrowser, params: Record<string, string> = {}): Promise<Page> {
  const { tokens } = await signIn(rp, browser, undefined);
  const confirm = await browser.get(oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token!, ...params }).toString());
  return browser.submit(confirm, { logout: 'yes' });
}

/** The SP answers Stepgate's LogoutRequest with `status`. */
async function spAnswers(browser: TestBrowser, page: Page, status: string): Promise<Page> {
  const told = await sp.receiveLogoutRequest(page);
  return sendToIdp(browser, await sp.logoutResponse(told.profile, told.relayState, { binding: told.binding, status: { top: status } }));
}

const unconfirmed = (page: Page) => /<h2>Not confirmed<\/h2>[\s\S]*<ul class="apps-unconfirmed">([\s\S]*?)<\/ul>/.exec(page.body)?.[1]?.match(/<li>[^<]*<\/li>/g) ?? [];

test('a SAML application that answered another status is listed as not confirmed', async () => {
  const browser = rpAndSpBrowser();
  await samlSignIn(browser, sp);
  const done = await spAnswers(browser, await rpLogout(browser), RESPONDER);
  assert.equal(done.status, 200);
  assert.match(done.body, /<p role="status">You are signed out\. You can close this window\.<\/p>/);
  assert.deepEqual(unconfirmed(done), ['<li>Wiki</li>']);
  assert.match(done.body, /Close the browser to be sure/);
  assert.doesNotMatch((await browser.get(`${app.url}/logout`)).body, /signed in as/, 'the Stepgate session ended');
});

test('a SAML application without a SingleLogoutService is listed at once, after the confirmation', async () => {
  const browser = rpAndSpBrowser();
  await samlSignIn(browser, noSlo);
  const done = await rpLogout(browser);
  assert.equal(done.status, 200);
  assert.match(done.body, /You are signed out\./);
  assert.deepEqual(unconfirmed(done), ['<li>Timesheets</li>']);
});

test('every application confirmed: the provider\'s own signed-out page, as before', async () => {
  const browser = rpAndSpBrowser();
  await samlSignIn(browser, sp);
  const done = await spAnswers(browser, await rpLogout(browser), 'urn:oasis:names:tc:SAML:2.0:status:Success');
  assert.equal(new URL(done.url).pathname, '/oidc/session/end/success');
  assert.match(done.body, /You are signed out\./);
  assert.deepEqual(unconfirmed(done), []);
});

test('with a post-logout redirect URI the client gets the browser back whatever the SAML applications answered', async () => {
  const browser = rpAndSpBrowser();
  await samlSignIn(browser, sp);
  const back = await spAnswers(browser, await rpLogout(browser, { post_logout_redirect_uri: rp.postLogoutRedirectUri, state: 'bye' }), RESPONDER);
  assert.equal(back.status, 303);
  assert.equal(back.headers.get('location'), `${rp.postLogoutRedirectUri}?state=bye`);
});
