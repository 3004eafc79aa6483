import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Profile } from '@node-saml/node-saml';
import { signSamlPost } from '@node-saml/node-saml/lib/saml-post-signing.js';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, redirectMessageXml, samlPostForm, sendAuthnRequest, sendToIdp, xmlsecVerify } from '../helpers/saml-sp.ts';

const PASSWORD = 'Correct-horse-42';
const LOGOUT_RESPONSE_ID = ['urn:oasis:names:tc:SAML:2.0:protocol:LogoutResponse'];

describe('SAML Single Logout', () => {
  let app: Booted;
  let redirectSp: TestSp;
  let postSp: TestSp;
  let bystander: TestSp;
  let unsignedSp: TestSp;

  before(async () => {
    app = await boot();
    await addLocalUser(app.services, 'alice', PASSWORD);
    [redirectSp, postSp, bystander, unsignedSp] = await Promise.all([
      TestSp.create(app, { name: 'slo-redirect', redirectSlo: true }),
      TestSp.create(app, { name: 'slo-post', binding: 'post' }),
      TestSp.create(app, { name: 'bystander' }),
      TestSp.create(app, { name: 'slo-unsigned', signRequests: false }),
    ]);
  });
  after(() => app.close());

  /** Signs in at `sp` (with a password unless the browser already has a session) and returns node-saml's profile. */
  async function signedInAt(browser: TestBrowser, sp: TestSp): Promise<Profile> {
    let page: Page = await sendAuthnRequest(browser, sp);
    if (isPasswordPage(page)) page = await browser.submit(page, { username: 'alice', password: PASSWORD });
    const { profile } = await sp.validate(samlPostForm(page).fields.SAMLResponse!);
    return profile!;
  }

  const sessions = () => app.services.store.kv.count('sso-session');

  test('HTTP-Redirect: the session ends and a signed LogoutResponse goes back by redirect', async () => {
    const browser = new TestBrowser();
    const profile = await signedInAt(browser, redirectSp);
    const before = await sessions();
    const answer = await browser.get(await redirectSp.logoutUrl(profile, 'bye'), { followRedirects: false });
    assert.equal(answer.status, 303);
    const location = answer.headers.get('location')!;
    assert.ok(location.startsWith(`${redirectSp.sloUrl}?SAMLResponse=`));
    const query = new URL(location).searchParams;
    assert.equal(query.get('RelayState'), 'bye');
    assert.equal(query.get('SigAlg'), 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    const result = await redirectSp.client().validateRedirectAsync(Object.fromEntries(query), new URL(location).search.slice(1));
    assert.equal(result.loggedOut, true);
    assert.match(redirectMessageXml(location, 'SAMLResponse'), /status:Success"><\/samlp:StatusCode>/);
    assert.equal(await sessions(), before - 1);
    assert.ok(isPasswordPage(await sendAuthnRequest(browser, redirectSp)), 'the next AuthnRequest asks for the password');
  });

  test('HTTP-POST: signed LogoutRequest, 303 to pick up the session cookie, LogoutResponse by POST', async () => {
    const browser = new TestBrowser();
    const profile = await signedInAt(browser, postSp);
    const fields = await postSp.logoutPostFields(profile, 'post-bye');
    const hop = await browser.request(`${app.url}/saml/slo`, { method: 'POST', body: new URLSearchParams(fields), followRedirects: false });
    assert.equal(hop.status, 303);
    assert.match(hop.headers.get('location')!, /^\/saml\/slo\/continue\?id=/);
    const page = await browser.get(new URL(hop.headers.get('location')!, app.url).toString());
    const form = samlPostForm(page);
    assert.equal(form.action, postSp.sloUrl);
    assert.equal(form.fields.RelayState, 'post-bye');
    const xml = Buffer.from(form.fields.SAMLResponse!, 'base64').toString('utf8');
    assert.ok((await xmlsecVerify(xml, postSp.idpCertPems[0]!, { idAttributes: LOGOUT_RESPONSE_ID })).ok);
    assert.deepEqual(await postSp.validate(form.fields.SAMLResponse!), { profile: null, loggedOut: true });
    assert.ok(isPasswordPage(await sendAuthnRequest(browser, postSp)));
  });

  test('another participant is told first; when it confirms, the SP gets plain Success', async () => {
    const browser = new TestBrowser();
    browser.stopAt.push('https://');
    const profile = await signedInAt(browser, redirectSp);
    const bystanderProfile = await signedInAt(browser, bystander);
    const told = await bystander.receiveLogoutRequest(await browser.get(await redirectSp.logoutUrl(profile, 'bye')));
    assert.equal(told.profile.nameID, bystanderProfile.nameID);
    const answer = await sendToIdp(browser, await bystander.logoutResponse(told.profile, told.relayState, { binding: 'post' }));
    const location = answer.headers.get('location')!;
    assert.ok(location.startsWith(`${redirectSp.sloUrl}?SAMLResponse=`), location);
    assert.equal(new URL(location).searchParams.get('RelayState'), 'bye');
    assert.match(redirectMessageXml(location, 'SAMLResponse'), /<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"><\/samlp:StatusCode><\/samlp:Status>/);
    assert.ok(isPasswordPage(await sendAuthnRequest(browser, bystander)), 'the IdP session is gone for everyone');
  });

  test('a LogoutRequest for no session here still answers Success and ends nothing', async () => {
    const holder = new TestBrowser();
    const profile = await signedInAt(holder, redirectSp);
    const before = await sessions();
    const answer = await new TestBrowser().get(await redirectSp.logoutUrl(profile), { followRedirects: false });
    assert.match(redirectMessageXml(answer.headers.get('location')!, 'SAMLResponse'), /status:Success"><\/samlp:StatusCode>/);
    assert.equal(await sessions(), before);
    assert.ok(samlPostForm(await sendAuthnRequest(holder, redirectSp)), 'the other browser is still signed in');
  });

  test('a LogoutRequest naming another session index leaves this session alone', async () => {
    const browser = new TestBrowser();
    const profile = await signedInAt(browser, redirectSp);
    const answer = await browser.get(await redirectSp.logoutUrl({ ...profile, sessionIndex: 'not-this-one' }), { followRedirects: false });
    assert.equal(answer.status, 303);
    assert.ok(samlPostForm(await sendAuthnRequest(browser, redirectSp)), 'still signed in');
  });

  test('a transient NameID from an earlier Response of the same session, with its SessionIndex, ends the session; without a SessionIndex, or with a persistent NameID, it does not', async () => {
    const transientSp = await TestSp.create(app, { name: 'slo-transient', redirectSlo: true, identifierFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient' });
    const browser = new TestBrowser();
    const earlier = await signedInAt(browser, transientSp);
    const later = await signedInAt(browser, transientSp);
    assert.notEqual(earlier.nameID, later.nameID, 'a transient NameID is new in every Response');
    assert.equal(earlier.sessionIndex, later.sessionIndex, 'the SessionIndex is the same for every Response of this session to this SP');

    const { sessionIndex: _index, ...withoutIndex } = earlier;
    await browser.get(await transientSp.logoutUrl(withoutIndex as Profile), { followRedirects: false });
    assert.ok(samlPostForm(await sendAuthnRequest(browser, transientSp)), 'without a SessionIndex an earlier transient NameID names nothing known here');
    await browser.get(await transientSp.logoutUrl({ ...earlier, nameIDFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' }), { followRedirects: false });
    assert.ok(samlPostForm(await sendAuthnRequest(browser, transientSp)), 'a NameID of another format is not that transient NameID');

    const before = await sessions();
    const answer = await browser.get(await transientSp.logoutUrl(earlier, 'bye'), { followRedirects: false });
    assert.equal(answer.status, 303);
    assert.match(redirectMessageXml(answer.headers.get('location')!, 'SAMLResponse'), /status:Success"><\/samlp:StatusCode>/);
    assert.equal(await sessions(), before - 1, 'the session ended');
    assert.ok(isPasswordPage(await sendAuthnRequest(browser, transientSp)), 'the next AuthnRequest asks for the password');
  });

  test("a transient NameID never sent, with the SessionIndex of an SP that was sent a persistent one, ends nothing", async () => {
    const browser = new TestBrowser();
    const profile = await signedInAt(browser, redirectSp);
    assert.notEqual(profile.nameIDFormat, 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient');
    await browser.get(await redirectSp.logoutUrl({ ...profile, nameID: '_never-sent-transient', nameIDFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient' }), { followRedirects: false });
    assert.ok(samlPostForm(await sendAuthnRequest(browser, redirectSp)), 'still signed in');
  });

  test('an unsigned LogoutRequest from an SP that signs is refused and ends nothing', async () => {
    const browser = new TestBrowser();
    const profile = await signedInAt(browser, redirectSp);
    const url = new URL(await redirectSp.logoutUrl(profile));
    url.searchParams.delete('Signature');
    url.searchParams.delete('SigAlg');
    const refused = await browser.get(url.toString(), { followRedirects: false });
    assert.equal(refused.status, 400);
    assert.ok(app.logs.some((line) => line.code === 'SAML_SIGNATURE_INVALID' && line.level === 40));
    assert.ok(samlPostForm(await sendAuthnRequest(browser, redirectSp)), 'still signed in');
  });

  test('an unsigned LogoutRequest is refused from an SP that does not sign either (a plain link must not end a session)', async () => {
    const browser = new TestBrowser();
    const profile = await signedInAt(browser, unsignedSp);
    const redirectUrl = await unsignedSp.logoutUrl(profile, 'bye');
    assert.ok(!new URL(redirectUrl).searchParams.has('Signature'), 'the control: node-saml sent it unsigned');
    const postFields = await unsignedSp.logoutPostFields(profile, 'bye');
    for (const send of [() => browser.get(redirectUrl, { followRedirects: false }), () => browser.request(`${app.url}/saml/slo`, { method: 'POST', body: new URLSearchParams(postFields), followRedirects: false })]) {
      const logsBefore = app.logs.length;
      const refused = await send();
      assert.equal(refused.status, 400);
      assert.match(refused.body, /its request was not signed, so you are still signed in\. To sign out, go to http:\/\/localhost:\d+\/logout\./);
      assert.ok(app.logs.slice(logsBefore).some((line) => line.code === 'SAML_SIGNATURE_INVALID' && line.level === 40 && (line.detail as { reason?: string }).reason === 'unsigned-logout-request'));
    }
    assert.ok(samlPostForm(await sendAuthnRequest(browser, unsignedSp)), 'still signed in');
  });

  describe('a refused LogoutRequest: the page speaks of the sign-out, and says nothing was signed out', () => {
    const NOT_VERIFIED = /<p role="alert"[^>]*>The application(?:'|&#39;)s sign-out request could not be verified as coming from it, so it was refused\. /;
    const NOT_VALID = /<p role="alert"[^>]*>The application sent a sign-out request that is not valid, so it was refused\. /;
    const NOTHING_ENDED = /Nothing was signed out here: if you were signed in, you still are\. To sign out, go to http:\/\/localhost:\d+\/logout\.<\/p>/;

    /** A 400 page with `wording` and the sign-out outcome, never the sign-in text; a warning with `reason`; the session is still there. */
    async function refusedSignOut(browser: TestBrowser, page: Page, wording: RegExp, reason: string): Promise<void> {
      assert.equal(page.status, 400, page.body.slice(0, 300));
      assert.match(page.body, wording);
      assert.match(page.body, NOTHING_ENDED);
      assert.doesNotMatch(page.body, /sign-in request/);
      assert.ok(app.logs.slice(-20).some((line) => line.level === 40 && (line.detail as { reason?: string } | undefined)?.reason === reason), `a warning with ${reason}`);
      assert.ok(samlPostForm(await sendAuthnRequest(browser, redirectSp)), 'still signed in');
    }

    test('signed with another key than the SP\'s (Redirect and POST)', async () => {
      const browser = new TestBrowser();
      const profile = await signedInAt(browser, redirectSp);
      const forged = await redirectSp.client({ privateKey: bystander.keyPem }).getLogoutUrlAsync(profile, '', {});
      await refusedSignOut(browser, await browser.get(forged, { followRedirects: false }), NOT_VERIFIED, 'redirect-signature-mismatch');

      const xml = await redirectSp.client()._generateLogoutRequest(profile);
      const signed = signSamlPost(xml, '/*[local-name(.)="LogoutRequest"]', { privateKey: bystander.keyPem, publicCert: bystander.certPem, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256' });
      const posted = await browser.request(`${app.url}/saml/slo`, { method: 'POST', body: new URLSearchParams({ SAMLRequest: Buffer.from(signed).toString('base64') }), followRedirects: false });
      await refusedSignOut(browser, posted, NOT_VERIFIED, 'signature-mismatch');
    });

    test('signed with SHA-1: the advice to the SP\'s administrator stays', async () => {
      const browser = new TestBrowser();
      const profile = await signedInAt(browser, redirectSp);
      const page = await browser.get(await redirectSp.client({ signatureAlgorithm: 'sha1' }).getLogoutUrlAsync(profile, '', {}), { followRedirects: false });
      await refusedSignOut(browser, page, NOT_VERIFIED, 'signature-algorithm');
      assert.match(page.body, /so it was refused\. The application signed its request with SHA-1, which this sign-in service refuses: [^<]*RSA-SHA512 are accepted too\)\. Nothing was signed out here/);
    });

    test('expired (issued an hour ago)', async () => {
      const browser = new TestBrowser();
      const profile = await signedInAt(browser, redirectSp);
      const saml = redirectSp.client();
      const xml = (await saml._generateLogoutRequest(profile)).replace(/IssueInstant="[^"]+"/, `IssueInstant="${new Date(Date.now() - 3_600_000).toISOString()}"`);
      const url = await saml._requestToUrlAsync(xml, null, 'logout', saml._getAdditionalParams('', 'logout'));
      await refusedSignOut(browser, await browser.get(url, { followRedirects: false }), NOT_VALID, 'request-expired');
    });

    test('replayed', async () => {
      const browser = new TestBrowser();
      const profile = await signedInAt(browser, redirectSp);
      const url = await redirectSp.logoutUrl({ ...profile, sessionIndex: 'not-this-one' });
      assert.equal((await browser.get(url, { followRedirects: false })).status, 303, 'the first one is answered (it names another session)');
      await refusedSignOut(browser, await browser.get(url, { followRedirects: false }), NOT_VALID, 'replayed');
    });
  });
});
