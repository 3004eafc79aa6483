import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import type { Profile } from '@node-saml/node-saml';
import { boot, type Booted } from '../helpers/boot.ts';
import type { TestBrowser } from '../helpers/browser.ts';
import { BackchannelReceiver } from '../helpers/backchannel-receiver.ts';
import { authRequest, callbackOf, createRp, createUser, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { TestSp, redirectMessageXml, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';

/**
 * A browser left alone past session.idleTimeoutMinutes has to sign in again, but its SSO session
 * still backs an OIDC client's tokens. Signing out from that browser (Stepgate's /logout, a SAML
 * LogoutRequest, an OIDC RP-initiated logout) must still end that session and tell its applications;
 * and showing the sign-out page must not count as the browser's use.
 */
const ALICE = { username: 'alice', password: 'correct horse 42' };
let now = Date.now();
const clock = { now: () => now };
const minutes = (count: number) => void (now += count * 60_000);
let app: Booted;
const receiver = new BackchannelReceiver();

before(async () => {
  await receiver.start();
  // node-saml dates its messages by the real clock, which falls behind Stepgate's as the tests move it on.
  app = await boot({ session: { idleTimeoutMinutes: 5 }, saml: { requestMaxAgeSeconds: 3600 } }, { clock });
  await createUser(app, ALICE);
});
after(async () => {
  await app?.close();
  await receiver.stop();
});

interface SignedIn {
  browser: TestBrowser;
  client: TestRp;
  backchannel: string;
  refreshToken: string;
  idToken: string;
  sp: TestSp;
  /** node-saml's reading of the SP's assertion: what its LogoutRequest names. */
  profile: Profile;
}

/** Signs in at a back-channel OIDC client and a SAML SP in one browser, then leaves the browser alone for 6 minutes. */
async function idleAfterSignIn(name: string): Promise<SignedIn> {
  const backchannel = receiver.endpoint();
  const client = await createRp(app, { backchannelLogoutUri: backchannel });
  const sp = await TestSp.create(app, { name, redirectSlo: true });
  const browser = rpBrowser();
  browser.stopAt.push('https://');
  const { tokens } = await signIn(client, browser, ALICE);
  const response = samlPostForm(await sendAuthnRequest(browser, sp)).fields.SAMLResponse!;
  // node-saml checks the assertion's times against the real clock, which Stepgate's is ahead of.
  const { profile } = await sp.client({ acceptedClockSkewMs: -1 }).validatePostResponseAsync({ SAMLResponse: response });
  minutes(6);
  return { browser, client, backchannel, refreshToken: tokens.refresh_token!, idToken: tokens.id_token!, sp, profile: profile! };
}

async function assertEnded(signedIn: SignedIn): Promise<void> {
  assert.equal(receiver.tokensAt(signedIn.backchannel).length, 1, 'the OIDC client got a Logout Token');
  await assert.rejects(oidc.refreshTokenGrant(signedIn.client.config, signedIn.refreshToken), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
  assert.equal((await app.services.sessions.live()).filter((session) => session.user.username === ALICE.username).length, 0, 'no session of hers is left');
}

test('the sign-out page of an idle browser offers the sign-out, which ends the session and tells its applications', async () => {
  const signedIn = await idleAfterSignIn('r6-idle-logout-page');
  const confirm = await signedIn.browser.get(`${app.url}/logout`);
  assert.match(confirm.body, /<form/, 'a sign-out button, not "You are not signed in."');
  // Whoever sits at a browser left idle is not told who was signed in on it.
  assert.doesNotMatch(confirm.body, /signed in as/);
  assert.match(confirm.body, /A sign-in of this browser is still in use by its applications\./);
  const request = await signedIn.sp.receiveLogoutRequest(await signedIn.browser.submit(confirm, {}));
  assert.equal(request.profile.nameID, signedIn.profile.nameID, 'the SAML SP is sent a LogoutRequest for its session');
  await assertEnded(signedIn);
});

test('a signed SAML LogoutRequest from an idle browser ends the session it names', async () => {
  const signedIn = await idleAfterSignIn('r6-idle-slo');
  const answer = await signedIn.browser.get(await signedIn.sp.logoutUrl(signedIn.profile, 'bye'), { followRedirects: false });
  assert.match(redirectMessageXml(answer.headers.get('location')!, 'SAMLResponse'), /status:Success"><\/samlp:StatusCode>/);
  await assertEnded(signedIn);
});

test('an OIDC RP-initiated logout from an idle browser ends the SSO session and tells its SAML SP', async () => {
  const signedIn = await idleAfterSignIn('r6-idle-rp-logout');
  const end = await signedIn.browser.get(oidc.buildEndSessionUrl(signedIn.client.config, { id_token_hint: signedIn.idToken, post_logout_redirect_uri: signedIn.client.postLogoutRedirectUri }).toString());
  // Whoever sits at the idle browser is not told who was signed in on it, by this page either.
  assert.doesNotMatch(end.body, /Signed in here as/);
  assert.doesNotMatch(end.body, new RegExp(ALICE.username));
  const answered = await signedIn.browser.submit(end, { logout: 'yes' });
  await signedIn.sp.receiveLogoutRequest(answered);
  await assertEnded(signedIn);
  // The audit still names whose session the client was told about.
  const told = (await app.services.store.audit.query({ types: ['oidc.backchannel-logout'] })).events.filter((event) => event.rp === signedIn.client.client.id || event.clientId === signedIn.client.client.id);
  assert.ok(told.length > 0, 'the back-channel logout is audited');
  assert.ok(told.every((event) => event.username === ALICE.username), JSON.stringify(told));
});

test('showing the sign-out page is not a use of the session: the browser still idles out', async () => {
  const client = await createRp(app);
  const browser = rpBrowser();
  await signIn(client, browser, ALICE);
  minutes(4);
  assert.match((await browser.get(`${app.url}/logout`)).body, /<form/);
  minutes(2);
  const silent = await authRequest(client, { prompt: 'none' });
  assert.equal(callbackOf(client, await browser.get(silent.url.toString())).searchParams.get('error'), 'login_required', '6 minutes after its last use, the browser must sign in again');
});
