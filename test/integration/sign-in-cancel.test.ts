import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { authRequest, callbackOf, createRp, createUser, rpBrowser, type TestRp } from '../helpers/oidc-rp.ts';

// saml-core 3.4.1.4 and OIDC Core 3.1.2.6: a sign-in that ends without a user is answered to the
// application with an error, so a user who cannot or will not sign in is never stranded on Stepgate.
const ALICE = { username: 'alice', password: 'correct horse 31' };
const CANCEL = /Cancel and go back to/;
let app: Booted;
let sp: TestSp;
let rp: TestRp;
let mfaRp: TestRp;

before(async () => {
  app = await boot();
  await createUser(app, ALICE);
  sp = await TestSp.create(app, { name: 'wiki' });
  rp = await createRp(app);
  mfaRp = await createRp(app, { policy: 'permit-everyone-require-mfa' });
});
after(() => app?.close());

async function cancelEvents(): Promise<number> {
  return (await app.services.store.audit.query({ types: ['login.cancel'], limit: 100 })).events.length;
}

test('OIDC: "Cancel" on the password page sends the client access_denied with its state; no session is started', async () => {
  const browser = rpBrowser();
  const request = await authRequest(rp);
  const page = await browser.get(request.url.toString());
  assert.ok(isPasswordPage(page));
  assert.match(page.body, CANCEL);
  const before = await cancelEvents();
  const callback = callbackOf(rp, await browser.submit(page, {}, '/cancel'));
  assert.equal(callback.searchParams.get('error'), 'access_denied');
  assert.equal(callback.searchParams.get('state'), request.state);
  assert.equal(callback.searchParams.get('code'), null);
  assert.equal(await cancelEvents(), before + 1);
  // The sign-in is over: its form cannot be sent again; it is sent to the page that says so.
  const again = await browser.submit(page, ALICE);
  assert.match(again.body, /<h1>Sign-in finished<\/h1>/);
  assert.equal(await cancelEvents(), before + 1);
});

test('SAML: "Cancel" sends the SP a signed Response with Responder/AuthnFailed and no assertion', async () => {
  const browser = new TestBrowser();
  const page = await sendAuthnRequest(browser, sp, 'relay-1');
  assert.ok(isPasswordPage(page));
  const form = samlPostForm(await browser.submit(page, {}, '/cancel'));
  assert.equal(form.fields.RelayState, 'relay-1');
  const xml = Buffer.from(form.fields.SAMLResponse!, 'base64').toString('utf8');
  assert.match(xml, /StatusCode Value="urn:oasis:names:tc:SAML:2\.0:status:Responder"/);
  assert.match(xml, /StatusCode Value="urn:oasis:names:tc:SAML:2\.0:status:AuthnFailed"/);
  assert.doesNotMatch(xml, /Assertion/);
  // node-saml checks the signature, then refuses the Response for its status.
  await assert.rejects(sp.validate(form.fields.SAMLResponse!), /Responder|AuthnFailed/);
});

test('"Cancel" at the second step (setup, and a locked code page) ends the sign-in for the client too', async () => {
  const browser = rpBrowser();
  const request = await authRequest(mfaRp);
  const setup: Page = await browser.submit(await browser.get(request.url.toString()), ALICE);
  assert.match(setup.body, /Set up your authenticator app/);
  assert.match(setup.body, CANCEL);
  const callback = callbackOf(mfaRp, await browser.submit(setup, {}, '/cancel'));
  assert.equal(callback.searchParams.get('error'), 'access_denied');
});

test('"Cancel" needs the form-protection token, like every form', async () => {
  const browser = rpBrowser();
  const page = await browser.get((await authRequest(rp)).url.toString());
  const action = /<form method="post" action="([^"]*\/cancel)"/.exec(page.body)![1]!;
  const forged = await new TestBrowser().request(new URL(action, app.url).toString(), { method: 'POST', body: new URLSearchParams({}) });
  assert.equal(forged.status, 403);
  assert.ok(isPasswordPage(await browser.get(page.url)), 'the sign-in goes on');
});

test('"My security" offers no "Cancel": there is no application to go back to', async () => {
  const page = await new TestBrowser().get(`${app.url}/account/security`);
  assert.ok(isPasswordPage(page));
  assert.doesNotMatch(page.body, CANCEL);
});
