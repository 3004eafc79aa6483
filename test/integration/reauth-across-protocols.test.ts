import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import type { TestBrowser } from '../helpers/browser.ts';
import { createRp, createUser, rpAndSpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';

/**
 * A re-authentication starts a new SSO session under a new id, whichever protocol asked for it. The
 * applications the old session signed in to, through either protocol, belong to the new one.
 */
const ALICE = { username: 'alice', password: 'correct horse 1' };
let app: Booted;
let rp: TestRp;
let sp: TestSp;

before(async () => {
  app = await boot();
  await createUser(app, ALICE);
  rp = await createRp(app);
  sp = await TestSp.create(app, { name: 'reauth-sp', redirectSlo: true });
});
after(() => app?.close());

async function samlSignIn(browser: TestBrowser, options: { forceAuthn?: boolean } = {}) {
  let page = await sendAuthnRequest(browser, sp, '', options.forceAuthn ? { forceAuthn: true } : {});
  assert.equal(isPasswordPage(page), options.forceAuthn === true, 'ForceAuthn asks for the password; plain SSO does not');
  if (options.forceAuthn) page = await browser.submit(page, ALICE);
  return (await sp.validate(samlPostForm(page).fields.SAMLResponse!)).profile!;
}

test("a SAML ForceAuthn re-authentication keeps the OIDC client's sign-in: its refresh token works and its logout ends the SSO session", async () => {
  const browser = rpAndSpBrowser();
  const { tokens } = await signIn(rp, browser, ALICE);
  await samlSignIn(browser, { forceAuthn: true });

  const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  assert.ok(refreshed.access_token, 'the refresh token still works after the re-authentication');

  const sessionsBefore = await app.services.store.kv.count('sso-session');
  const confirm = await browser.get(oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: rp.postLogoutRedirectUri }).toString());
  await browser.submit(confirm, { logout: 'yes' });
  assert.equal(await app.services.store.kv.count('sso-session'), sessionsBefore - 1, "the client's logout ended the (new) SSO session");
  assert.ok(isPasswordPage(await sendAuthnRequest(browser, sp)), 'the SP asks for the password again');
  await assert.rejects(oidc.refreshTokenGrant(rp.config, refreshed.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
});

test('an OIDC prompt=login re-authentication keeps the SAML SP in the session: the logout tells it', async () => {
  const browser = rpAndSpBrowser();
  await signIn(rp, browser, ALICE);
  const profile = await samlSignIn(browser);
  await signIn(rp, browser, ALICE, { prompt: 'login' });

  const told = await sp.receiveLogoutRequest(await browser.submit(await browser.get(`${app.url}/logout`), {}, '/logout'));
  assert.equal(told.profile.nameID, profile.nameID, 'the SP signed in to before the re-authentication gets its LogoutRequest');
  assert.equal(told.profile.sessionIndex, profile.sessionIndex);
});
