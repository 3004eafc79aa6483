import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { SignedXml } from 'xml-crypto';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { LocalUserAdmin } from '../../src/directory/local-user-admin.ts';
import { findLocalUserByName, localUsers } from '../../src/directory/local-users.ts';
import { createHttpServer } from '../../src/http/http-server.ts';
import { createSpRegistry } from '../../src/saml/sp-registry.ts';

const PASSWORD = 'Correct-horse-42';
const MAIL = 'urn:oid:0.9.2342.19200300.100.1.3';
const DISPLAY_NAME = 'urn:oid:2.16.840.1.113730.3.1.241';
const UID = 'urn:oid:0.9.2342.19200300.100.1.1';

describe('SAML hardening', () => {
  let app: Booted;

  before(async () => {
    app = await boot();
    await addLocalUser(app.services, 'alice', PASSWORD);
    await addLocalUser(app.services, 'mallory', PASSWORD);
  });
  after(() => app.close());

  const warnings = (since: number, code: string) => app.logs.slice(since).filter((line) => line.level === 40 && line.code === code);

  describe('values XML 1.0 cannot carry (a control character in a user record)', () => {
    let emailSp: TestSp;
    let persistentSp: TestSp;

    before(async () => {
      [emailSp, persistentSp] = await Promise.all([
        TestSp.create(app, { name: 'email-nameid', identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' }),
        TestSp.create(app, { name: 'persistent-nameid' }),
      ]);
      // As an LDAP directory could hold it: written past the local-user checks.
      const users = localUsers(app.services.store);
      const mallory = (await findLocalUserByName(users, 'mallory'))!;
      await users.put({ ...mallory, email: 'alice@example.org\u0001', name: 'Mallory\u0007Example' });
    });

    async function responseFor(sp: TestSp, username: string): Promise<string> {
      const browser = new TestBrowser();
      const page = await sendAuthnRequest(browser, sp);
      assert.ok(isPasswordPage(page));
      return samlPostForm(await browser.submit(page, { username, password: PASSWORD })).fields.SAMLResponse!;
    }

    test('the local-user admin refuses control characters in an email or a name', async () => {
      const admin = new LocalUserAdmin(app.services.store, app.services.config, app.services.clock);
      await assert.rejects(admin.add('eve', { email: 'eve@example.org\u0001' }), /not an email address: "eve@example\.org\\u0001"/);
      await assert.rejects(admin.add('eve', { name: 'Eve\u0000Example' }), /the name must not contain control characters/);
      await assert.rejects(admin.update('alice', { email: 'alice\u001f@example.org' }), /not an email address/);
      assert.equal(await findLocalUserByName(localUsers(app.services.store), 'eve'), undefined, 'nothing written');
      assert.equal((await admin.get('alice')).email, 'alice@example.org');
    });

    test('such a value is never issued as a NameID: the SP gets InvalidNameIDPolicy, not another user\'s address', async () => {
      const { profile } = await emailSp.validate(await responseFor(emailSp, 'alice'));
      assert.equal(profile?.nameID, 'alice@example.org');
      const since = app.logs.length;
      const xml = Buffer.from(await responseFor(emailSp, 'mallory'), 'base64').toString('utf8');
      assert.match(xml, /<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy">/);
      assert.doesNotMatch(xml, /saml:Assertion|alice@example\.org/);
      assert.equal(warnings(since, 'SAML_NAMEID_UNREPRESENTABLE').length, 1);
    });

    test('attribute values holding one are left out, not altered; the other attributes are sent', async () => {
      const since = app.logs.length;
      const { profile } = await persistentSp.validate(await responseFor(persistentSp, 'mallory'));
      assert.equal(profile?.[UID], 'mallory');
      assert.equal(profile?.[MAIL], undefined);
      assert.equal(profile?.[DISPLAY_NAME], undefined);
      assert.deepEqual(warnings(since, 'SAML_ATTRIBUTE_VALUE_UNREPRESENTABLE').map((line) => line.attributes), [['mail', 'displayName']]);
    });
  });

  test('a POST signature made with the SP\'s second (rollover) certificate and no KeyInfo is accepted; an unregistered key is not', async () => {
    const [sp, next, stranger] = await Promise.all(['rollover', 'rollover-next', 'stranger'].map((name) => TestSp.create(app, { name, binding: 'post' })));
    const registry = createSpRegistry(app.services.store, app.services.clock);
    const nextBody = next.certPem.replace(/-----[^-]+-----|\s/g, '');
    const withBoth = sp.metadataXml.replace(/(<KeyDescriptor use="signing">[\s\S]*?<\/KeyDescriptor>)/, `$1<KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${nextBody}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>`);
    await registry.remove(sp.entityId);
    assert.equal((await registry.add(withBoth, { name: 'rollover' })).record.signingCertificates.length, 2);

    const send = async (keyPem: string) => {
      const { url, fields } = await sp.authnRequest('', { privateKey: keyPem, publicCert: undefined });
      assert.doesNotMatch(Buffer.from(fields!.SAMLRequest!, 'base64').toString('utf8'), /KeyInfo/, 'the signature does not say which certificate');
      return new TestBrowser().request(url, { method: 'POST', body: new URLSearchParams(fields) });
    };
    assert.ok(isPasswordPage(await send(sp.keyPem)), 'first certificate');
    assert.ok(isPasswordPage(await send(next.keyPem)), 'second certificate');
    const since = app.logs.length;
    const refused = await send(stranger.keyPem);
    assert.equal(refused.status, 400);
    assert.deepEqual(warnings(since, 'SAML_SIGNATURE_INVALID').map((line) => (line.detail as { reason?: string }).reason), ['signature-mismatch']);
  });

  test('a POST signature is checked over the document once, however many signing certificates the SP lists (not once per certificate)', async () => {
    const [sp, stranger, ...others] = await Promise.all(['many-certificates', 'many-stranger', 'many-a', 'many-b', 'many-c'].map((name) => TestSp.create(app, { name, binding: 'post' })));
    // The SP's own certificate comes last, after three it does not sign with.
    const listed = others.map((other) => `<KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${other.certPem.replace(/-----[^-]+-----|\s/g, '')}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>`).join('');
    const registry = createSpRegistry(app.services.store, app.services.clock);
    await registry.remove(sp.entityId);
    const metadata = sp.metadataXml.replace(/(<KeyDescriptor use="signing">[\s\S]*?<\/KeyDescriptor>)/, `${listed}$1`);
    assert.equal((await registry.add(metadata, { name: 'many-certificates' })).record.signingCertificates.length, 4);

    // Each check parses, canonicalises and digests the whole message (a 64 KB one took about 0.3 s here):
    // once per certificate, one refused request to an SP listing 150 of them held the server for 40 s.
    const { checkSignature } = SignedXml.prototype;
    let checks = 0;
    SignedXml.prototype.checkSignature = function (this: SignedXml, ...args: Parameters<typeof checkSignature>) {
      checks++;
      return checkSignature.apply(this, args);
    } as typeof checkSignature;
    try {
      const send = async (keyPem: string) => {
        const { url, fields } = await sp.authnRequest('', { privateKey: keyPem, publicCert: undefined });
        checks = 0;
        return new TestBrowser().request(url, { method: 'POST', body: new URLSearchParams(fields) });
      };
      assert.ok(isPasswordPage(await send(sp.keyPem)), 'signed with the last certificate listed');
      assert.equal(checks, 1, 'accepted after one check');
      const since = app.logs.length;
      assert.equal((await send(stranger.keyPem)).status, 400);
      assert.equal(checks, 1, 'refused after one check');
      assert.deepEqual(warnings(since, 'SAML_SIGNATURE_INVALID').map((line) => (line.detail as { reason?: string }).reason), ['signature-mismatch']);
    } finally {
      SignedXml.prototype.checkSignature = checkSignature;
    }
  });

  describe("the HTTP server keeps Node's 16 KiB limit on a request's head, and answers what goes over it", () => {
    /** The server main.ts listens with, in front of a stand-in for the application. */
    async function withServer(run: (base: string) => Promise<void>): Promise<void> {
      const listening = createHttpServer(app.services.logger);
      listening.on('request', (_req, res) => res.end('reached the application'));
      await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
      try {
        await run(`http://127.0.0.1:${(listening.address() as AddressInfo).port}`);
      } finally {
        listening.closeAllConnections();
        await new Promise((resolve) => listening.close(resolve));
      }
    }

    test('a signed Redirect-binding request far larger than SPs send, with a browser\'s cookies, reaches the application', () =>
      withServer(async (base) => {
        const query = [`SAMLRequest=${'A'.repeat(6000)}`, `RelayState=${'%2B'.repeat(1024)}`, `SigAlg=${encodeURIComponent('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256')}`, `Signature=${'%2B'.repeat(684)}`].join('&');
        const answer = await fetch(`${base}/saml/sso?${query}`, { headers: { cookie: `sg_session=${'c'.repeat(2048)}` } });
        assert.equal(answer.status, 200);
        assert.equal(await answer.text(), 'reached the application');
      }));

    for (const [what, init] of [
      ['a longer URL', { url: `/saml/sso?SAMLRequest=${'A'.repeat(20_000)}` }],
      ['a header stuffed on any route', { url: '/healthz', headers: { 'x-pad': 'p'.repeat(20_000) } }],
    ] as const) {
      test(`${what} gets a short plain 431 and a warning with the code`, () =>
        withServer(async (base) => {
          const since = app.logs.length;
          const answer = await fetch(`${base}${init.url}`, { headers: 'headers' in init ? init.headers : {} });
          assert.equal(answer.status, 431);
          assert.match(answer.headers.get('content-type') ?? '', /^text\/plain/);
          assert.equal(await answer.text(), 'The request is too large for this service. Go back and try again; if it keeps happening, contact your helpdesk.\n');
          assert.deepEqual(warnings(since, 'REQUEST_TOO_LARGE').map((line) => (line.detail as { reason?: string }).reason), ['HPE_HEADER_OVERFLOW']);
        }));
    }

    test('one client sending many such requests gets an answer to each, and the log one warning a minute', () =>
      withServer(async (base) => {
        const since = app.logs.length;
        for (let i = 0; i < 20; i++) assert.equal((await fetch(`${base}/healthz`, { headers: { 'x-pad': 'p'.repeat(20_000) } })).status, 431);
        assert.equal(warnings(since, 'REQUEST_TOO_LARGE').length, 1, 'not a line per refused connection, which buried the rest of the log');
      }));
  });
});
