import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, assertXmlsecVerifies, isPasswordPage, samlPostForm, sendAuthnRequest, xmlsecVerify } from '../helpers/saml-sp.ts';
import { ACR } from '../../src/policy/levels.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';
import type { SigningKeyRecord } from '../../src/keys/signing-keys.ts';
import { createSpRegistry } from '../../src/saml/sp-registry.ts';
import { DEFAULT_SAML_ATTRIBUTES } from '../../src/rp/claims.ts';
import type { AppError } from '../../src/core/errors.ts';

const PASSWORD = 'Correct-horse-42';
const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
const EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const ASSERTION_SIGNATURE = "//*[local-name()='Assertion']/*[local-name()='Signature']";

describe('SAML SSO with a node-saml SP', () => {
  let app: Booted;
  let idpCert: string;
  let signedBoth: TestSp;
  let assertionOnly: TestSp;
  let responseOnly: TestSp;
  let encrypted: TestSp;
  let other: TestSp;

  before(async () => {
    app = await boot();
    await addLocalUser(app.services, 'alice', PASSWORD, { addGroups: ['staff', 'admins'] });
    [signedBoth, assertionOnly, responseOnly, encrypted, other] = await Promise.all([
      TestSp.create(app, { name: 'both', wantAssertionsSigned: true, redirectSlo: true, register: { sign: 'both', nameId: 'persistent' } }),
      TestSp.create(app, { name: 'assertion', binding: 'post', identifierFormat: TRANSIENT, wantAssertionsSigned: true, wantAuthnResponseSigned: false, register: { sign: 'assertion' } }),
      TestSp.create(app, { name: 'response', identifierFormat: EMAIL, register: { sign: 'response' } }),
      TestSp.create(app, { name: 'encrypted', binding: 'post', encryption: true, wantAssertionsSigned: true, register: { sign: 'both' } }),
      TestSp.create(app, { name: 'other' }),
    ]);
    idpCert = signedBoth.idpCertPems[0]!;
  });
  after(() => app.close());

  async function signIn(browser: TestBrowser, sp: TestSp, relayState = ''): Promise<Page> {
    const page = await sendAuthnRequest(browser, sp, relayState);
    assert.ok(isPasswordPage(page), `expected the password page, got ${page.status} ${page.url}`);
    return browser.submit(page, { username: 'alice', password: PASSWORD });
  }

  test('metadata is signed, lists SSO and SLO for both bindings and every signing certificate', async () => {
    const response = await fetch(`${app.url}/saml/metadata`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/samlmetadata\+xml/);
    const xml = await response.text();
    const verified = await xmlsecVerify(xml, idpCert, { idAttributes: ['urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor'] });
    assert.ok(verified.ok, verified.output);
    for (const binding of ['HTTP-Redirect', 'HTTP-POST']) {
      assert.match(xml, new RegExp(`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${binding}" Location="${app.url}/saml/sso"/>`));
      assert.match(xml, new RegExp(`<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${binding}" Location="${app.url}/saml/slo"/>`));
    }
    assert.equal((xml.match(/<md:KeyDescriptor use="signing">/g) ?? []).length, (await app.services.keys.samlCertificates()).length);
    assert.equal(await (await fetch(`${app.url}/saml/metadata`)).text(), xml, 'served from the cache, not re-signed');
  });

  test('HTTP-Redirect, response and assertion signed, persistent NameID, attributes, AuthnStatement', async () => {
    const browser = new TestBrowser();
    const page = await signIn(browser, signedBoth, 'relay-123');
    const { action, fields } = samlPostForm(page);
    assert.equal(action, signedBoth.acsUrl);
    assert.equal(fields.RelayState, 'relay-123');
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'nonce-[A-Za-z0-9+/=]+'/);
    assert.doesNotMatch(csp, /form-action/, 'the SP may redirect the browser on after the POST (see post-form.ts)');
    assert.match(page.body, /<button type="submit">Continue<\/button>/);

    const { profile } = await signedBoth.validate(fields.SAMLResponse!);
    assert.ok(profile);
    assert.equal(profile.nameIDFormat, PERSISTENT);
    assert.notEqual(profile.nameID, 'alice');
    assert.equal(profile['urn:oid:0.9.2342.19200300.100.1.3'], 'alice@example.org');
    assert.deepEqual([...(profile['urn:oid:1.3.6.1.4.1.5923.1.5.1.1'] as string[])].sort(), ['admins', 'staff']);
    assert.ok(profile.sessionIndex);
    const assertionXml = profile.getAssertionXml!();
    assert.match(assertionXml, new RegExp(`<saml:AuthnContextClassRef>${ACR.password}</saml:AuthnContextClassRef>`));
    assert.match(assertionXml, /AuthnInstant="\d{4}-\d\d-\d\dT/);

    const xml = Buffer.from(fields.SAMLResponse!, 'base64').toString('utf8');
    assert.ok((await xmlsecVerify(xml, idpCert)).ok, 'xmlsec1 verifies the Response signature');
    assert.ok((await xmlsecVerify(xml, idpCert, { nodeXpath: ASSERTION_SIGNATURE })).ok, 'xmlsec1 verifies the Assertion signature');
    await assert.rejects(assertXmlsecVerifies(xml.replace('alice@example.org', 'mallory@example.org'), idpCert), /xmlsec1 refused/, 'the helper every validate() runs does catch tampering');

    const session = (await app.services.store.kv.entries<SsoSession>('sso-session')).map(([, value]) => value).find((candidate) => candidate.participants.some((p) => p.rpId === signedBoth.entityId));
    const participant = session?.participants.find((p) => p.rpId === signedBoth.entityId);
    assert.deepEqual({ nameId: participant?.nameId, format: participant?.nameIdFormat, sessionIndex: participant?.sessionIndex }, { nameId: profile.nameID, format: PERSISTENT, sessionIndex: profile.sessionIndex });
    assert.ok((await app.services.store.audit.query({ limit: 20 })).events.some((event) => event.type === 'saml.sso' && event.outcome === 'success' && event.rp === signedBoth.entityId));
  });

  test('HTTP-POST binding, assertion-only signature, transient NameID', async () => {
    const browser = new TestBrowser();
    const first = samlPostForm(await signIn(browser, assertionOnly)).fields.SAMLResponse!;
    const xml = Buffer.from(first, 'base64').toString('utf8');
    assert.doesNotMatch(xml, /<samlp:Response[^>]*>\s*<saml:Issuer>[^<]*<\/saml:Issuer>\s*<ds:Signature/, 'no Response signature');
    assert.ok((await xmlsecVerify(xml, idpCert)).ok, 'xmlsec1 verifies the only (assertion) signature');
    const { profile } = await assertionOnly.validate(first);
    assert.equal(profile?.nameIDFormat, TRANSIENT);
    const second = samlPostForm(await sendAuthnRequest(browser, assertionOnly)).fields.SAMLResponse!;
    const again = await assertionOnly.validate(second);
    assert.notEqual(again.profile?.nameID, profile?.nameID, 'transient NameIDs differ per response');
  });

  test('response-only signature with an emailAddress NameID', async () => {
    const fields = samlPostForm(await signIn(new TestBrowser(), responseOnly)).fields;
    const xml = Buffer.from(fields.SAMLResponse!, 'base64').toString('utf8');
    assert.equal((xml.match(/<ds:Signature[ >]/g) ?? []).length, 1);
    assert.ok((await xmlsecVerify(xml, idpCert)).ok);
    const { profile } = await responseOnly.validate(fields.SAMLResponse!);
    assert.equal(profile?.nameIDFormat, EMAIL);
    assert.equal(profile?.nameID, 'alice@example.org');
  });

  test('encrypted assertion: only the SP can read it, and both signatures verify', async () => {
    const fields = samlPostForm(await signIn(new TestBrowser(), encrypted)).fields;
    const xml = Buffer.from(fields.SAMLResponse!, 'base64').toString('utf8');
    assert.match(xml, /<saml:EncryptedAssertion/);
    assert.doesNotMatch(xml, /<saml:Assertion/);
    assert.doesNotMatch(xml, /alice/);
    assert.match(xml, /xmlenc11#aes256-gcm/);
    assert.ok((await xmlsecVerify(xml, idpCert)).ok, 'the Response signature covers the EncryptedAssertion');
    const { profile } = await encrypted.validate(fields.SAMLResponse!);
    assert.equal(profile?.['urn:oid:0.9.2342.19200300.100.1.1'], 'alice');
    // node-saml verified the decrypted assertion's own signature; xmlsec1 checks it again on the decrypted XML.
    assert.ok((await xmlsecVerify(profile!.getAssertionXml!(), idpCert, { idAttributes: ['urn:oasis:names:tc:SAML:2.0:assertion:Assertion'] })).ok);
  });

  test('encryption uses the algorithms the SP lists (saml-metadata §2.4.1.1); one it could not decrypt is refused at registration', async () => {
    const cbcOnly = await TestSp.create(app, { name: 'cbc-only', binding: 'post', encryption: true, encryptionMethods: ['http://www.w3.org/2001/04/xmlenc#aes128-cbc', 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p'] });
    const fields = samlPostForm(await signIn(new TestBrowser(), cbcOnly)).fields;
    const xml = Buffer.from(fields.SAMLResponse!, 'base64').toString('utf8');
    assert.match(xml, /<xenc:EncryptionMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmlenc#aes128-cbc"/);
    assert.doesNotMatch(xml, /aes256-gcm/);
    assert.equal((await cbcOnly.validate(fields.SAMLResponse!)).profile?.['urn:oid:0.9.2342.19200300.100.1.1'], 'alice', 'the SP decrypts what it said it can');

    const registry = createSpRegistry(app.services.store, app.services.clock);
    const rsa15Only = cbcOnly.metadataXml
      .replace('https://cbc-only.sp.test/metadata', 'https://rsa15-only.sp.test/metadata')
      .replace('http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p', 'http://www.w3.org/2001/04/xmlenc#rsa-1_5');
    const before = (await registry.list()).length;
    await assert.rejects(registry.add(rsa15Only), (error: AppError) => error.code === 'METADATA_INVALID' && /RSA 1\.5/.test(error.userMessage) && /--no-encrypt/.test(error.userMessage));
    assert.equal((await registry.list()).length, before, 'nothing registered');
    assert.ok((await registry.add(rsa15Only, { encrypt: false })).record, 'without encryption it registers');
  });

  test('persistent NameID: stable across sign-ins, different per SP, not the username', async () => {
    const nameIdAt = async (sp: TestSp) => (await sp.validate(samlPostForm(await signIn(new TestBrowser(), sp)).fields.SAMLResponse!)).profile!.nameID;
    const first = await nameIdAt(signedBoth);
    const second = await nameIdAt(signedBoth);
    const elsewhere = await nameIdAt(other);
    assert.equal(first, second);
    assert.notEqual(first, elsewhere);
    for (const value of [first, elsewhere]) assert.ok(!value.includes('alice') && value.length >= 40);
  });

  test('single sign-on: a second AuthnRequest needs no password; ForceAuthn asks again', async () => {
    const browser = new TestBrowser();
    await signIn(browser, signedBoth);
    const reused = await sendAuthnRequest(browser, other);
    assert.ok(samlPostForm(reused).fields.SAMLResponse);
    const forced = await sendAuthnRequest(browser, other, '', { forceAuthn: true });
    assert.ok(isPasswordPage(forced), 'ForceAuthn shows the password page');
    const after = await browser.submit(forced, { username: 'alice', password: PASSWORD });
    assert.ok((await other.validate(samlPostForm(after).fields.SAMLResponse!)).profile);
  });

  test('IsPassive without a session answers NoPassive to the ACS, without a sign-in page', async () => {
    const page = await sendAuthnRequest(new TestBrowser(), signedBoth, '', { passive: true });
    const xml = Buffer.from(samlPostForm(page).fields.SAMLResponse!, 'base64').toString('utf8');
    assert.match(xml, /StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:NoPassive"/);
    assert.deepEqual(await signedBoth.validate(samlPostForm(page).fields.SAMLResponse!), { profile: null, loggedOut: false });
  });

  test('an unsupported NameIDPolicy answers Requester/InvalidNameIDPolicy to the ACS', async () => {
    const browser = new TestBrowser();
    const page = await sendAuthnRequest(browser, signedBoth, 'r', { identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName' });
    const { action, fields } = samlPostForm(page);
    assert.equal(action, signedBoth.acsUrl);
    const xml = Buffer.from(fields.SAMLResponse!, 'base64').toString('utf8');
    assert.match(xml, /Value="urn:oasis:names:tc:SAML:2.0:status:Requester"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"/);
    assert.ok((await xmlsecVerify(xml, idpCert)).ok, 'error responses are signed too');
    await assert.rejects(signedBoth.validate(fields.SAMLResponse!), /InvalidNameIDPolicy|not supported/);
    assert.equal(browser.cookieHeader(app.url).includes('sg_session'), false);
  });

  test('RequestedAuthnContext: minimum password is met; an unknown class answers NoAuthnContext', async () => {
    const browser = new TestBrowser();
    const met = await signIn(browser, signedBoth);
    assert.ok(samlPostForm(met));
    const ok = await sendAuthnRequest(browser, other, '', { authnContext: [ACR.password], racComparison: 'minimum' });
    const { profile } = await other.validate(samlPostForm(ok).fields.SAMLResponse!);
    assert.match(profile!.getAssertionXml!(), new RegExp(ACR.password));
    const unknown = await sendAuthnRequest(browser, other, '', { authnContext: ['urn:example:ac:retina-scan'] });
    assert.match(Buffer.from(samlPostForm(unknown).fields.SAMLResponse!, 'base64').toString('utf8'), /status:NoAuthnContext/);
  });

  test('IdP-initiated sign-in posts an unsolicited response to the default ACS with the RelayState', async () => {
    const browser = new TestBrowser();
    const page = await browser.get(`${app.url}/saml/idp-init?sp=${encodeURIComponent(other.entityId)}&RelayState=%2Fhome`);
    assert.ok(isPasswordPage(page));
    const { action, fields } = samlPostForm(await browser.submit(page, { username: 'alice', password: PASSWORD }));
    assert.equal(action, other.acsUrl);
    assert.equal(fields.RelayState, '/home');
    assert.doesNotMatch(Buffer.from(fields.SAMLResponse!, 'base64').toString('utf8'), /InResponseTo/);
    assert.ok((await other.validate(fields.SAMLResponse!)).profile);
  });

  test('per-SP attribute release in the basic name format (email, groups)', async () => {
    await createSpRegistry(app.services.store, app.services.clock).update(other.entityId, {
      settings: {
        attributes: [
          { name: 'email', nameFormat: 'basic', source: 'email' },
          { name: 'groups', nameFormat: 'basic', source: 'groups' },
          { name: 'department', nameFormat: 'basic', source: 'attribute:department' },
        ],
      },
    });
    try {
      const fields = samlPostForm(await signIn(new TestBrowser(), other)).fields;
      const xml = Buffer.from(fields.SAMLResponse!, 'base64').toString('utf8');
      assert.match(xml, /<saml:Attribute Name="email" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">/);
      assert.doesNotMatch(xml, /department|urn:oid:/, 'empty and unmapped attributes are not released');
      const { profile } = await other.validate(fields.SAMLResponse!);
      assert.equal(profile?.email, 'alice@example.org');
      assert.deepEqual([...(profile?.groups as string[])].sort(), ['admins', 'staff']);
    } finally {
      await createSpRegistry(app.services.store, app.services.clock).update(other.entityId, { settings: { attributes: [...DEFAULT_SAML_ATTRIBUTES] } });
    }
  });

  test('key rollover: the next certificate is published (metadata re-signed once), the active key keeps signing', async () => {
    const before = await (await fetch(`${app.url}/saml/metadata`)).text();
    await app.services.store.collection<SigningKeyRecord>('signing-keys').put(await app.services.keys.generate('RS256', 'next'));
    await app.services.keys.ensure(); // drops SigningKeys' cache, as a key rotation does
    const xml = await (await fetch(`${app.url}/saml/metadata`)).text();
    assert.notEqual(xml, before);
    assert.equal((xml.match(/<md:KeyDescriptor use="signing">/g) ?? []).length, 2);
    assert.ok((await xmlsecVerify(xml, idpCert, { idAttributes: ['urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor'] })).ok, 'still signed by the active key');
    const { profile } = await signedBoth.validate(samlPostForm(await signIn(new TestBrowser(), signedBoth)).fields.SAMLResponse!);
    assert.ok(profile);
  });
});
