import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSign } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { TestSp, isPasswordPage, redirectMessageXml, samlPostForm, sendAuthnRequest, xmlsecVerify } from '../helpers/saml-sp.ts';
import { SP_COLLECTION, type ServiceProviderRecord } from '../../src/saml/sp-types.ts';

const run = promisify(execFile);

const PASSWORD = 'Correct-horse-42';
const HTTP_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const ARTIFACT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact';
const PAOS = 'urn:oasis:names:tc:SAML:2.0:bindings:PAOS';
const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const RSA_SHA384 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384';
const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const SHA384 = 'http://www.w3.org/2001/04/xmldsig-more#sha384';
const SHA1_REFUSED = /signed its request with SHA-1, which this sign-in service refuses/;

let offsetMs = 0;
const clock = { now: () => Date.now() + offsetMs };

/**
 * Deviations a SAML conformance run found, each checked against real peers: node-saml as the SP,
 * xmlsec1 (or node:crypto for the Redirect binding's detached signature) signing what node-saml cannot.
 */
describe('SAML conformance', () => {
  let app: Booted;
  let redirectSp: TestSp;
  let postSp: TestSp;

  before(async () => {
    app = await boot({}, { clock });
    await addLocalUser(app.services, 'alice', PASSWORD);
    [redirectSp, postSp] = await Promise.all([TestSp.create(app, { name: 'conform' }), TestSp.create(app, { name: 'conform-post', binding: 'post' })]);
  });
  after(() => app.close());

  const warnings = (since: number, code: string) => app.logs.slice(since).filter((line) => line.level === 40 && line.code === code);
  const responseXml = (page: Page) => Buffer.from(samlPostForm(page).fields.SAMLResponse!, 'base64').toString('utf8');

  /** node-saml's own AuthnRequest, altered, then signed by node-saml in the Redirect query. */
  async function signedRedirectRequest(sp: TestSp, alter: (xml: string) => string, relayState: string): Promise<{ url: string; id: string }> {
    const unsigned = await sp.client({ privateKey: undefined }).getAuthorizeUrlAsync('', undefined, {});
    const xml = alter(redirectMessageXml(unsigned, 'SAMLRequest'));
    const saml = sp.client();
    const url = await saml._requestToUrlAsync(xml, null, 'authorize', saml._getAdditionalParams(relayState, 'authorize'));
    return { url, id: /ID="([^"]+)"/.exec(xml)![1]! };
  }

  describe('an AuthnRequest asking for another response binding (saml-core §3.4.1, §3.2.2.2)', () => {
    for (const [name, binding] of [['HTTP-Artifact', ARTIFACT], ['PAOS', PAOS]] as const) {
      test(`${name}: a signed Requester/UnsupportedBinding Response goes to the registered default POST ACS, not to the address the request names`, async () => {
        const browser = new TestBrowser();
        const since = app.logs.length;
        const { url, id } = await signedRedirectRequest(
          redirectSp,
          (xml) => xml.replace(`ProtocolBinding="${HTTP_POST}"`, `ProtocolBinding="${binding}"`).replace(/AssertionConsumerServiceURL="[^"]*"/, 'AssertionConsumerServiceURL="https://conform.sp.test/artifact-receiver"'),
          'rs-binding',
        );
        const page = await browser.get(url);
        const { action, fields } = samlPostForm(page);
        assert.equal(action, redirectSp.acsUrl);
        assert.equal(fields.RelayState, 'rs-binding');
        const xml = responseXml(page);
        assert.match(xml, /<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Requester"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:UnsupportedBinding">/);
        assert.match(xml, new RegExp(`InResponseTo="${id}"`));
        assert.match(xml, new RegExp(`Destination="${redirectSp.acsUrl}"`));
        assert.doesNotMatch(xml, /saml:Assertion|artifact-receiver/);
        assert.ok((await xmlsecVerify(xml, redirectSp.idpCertPems[0]!)).ok, 'signed like the other error responses');
        await assert.rejects(redirectSp.validate(fields.SAMLResponse!), /Requester error: Responses are sent with the HTTP-POST binding only/);
        assert.equal(warnings(since, 'SAML_UNSUPPORTED_BINDING').length, 1, 'logged as a refusal');
        assert.equal(browser.cookieHeader(app.url).includes('sg_session'), false, 'no sign-in happened');

        const again = await new TestBrowser().get(url);
        assert.equal(again.status, 400, 'a replay is refused, not answered again');
        assert.doesNotMatch(again.body, /name="SAMLResponse"/);
      });
    }

    test('an SP record without any HTTP-POST ACS (registered before that was required) still gets the error page', async () => {
      const legacy = await TestSp.create(app, { name: 'legacy-artifact' });
      const records = app.services.store.collection<ServiceProviderRecord>(SP_COLLECTION);
      const record = (await records.get(legacy.entityId))!;
      await records.put({ ...record, acs: [{ binding: ARTIFACT, location: 'https://legacy-artifact.sp.test/artifact', index: 0 }], updatedAt: record.updatedAt + 1 });
      const { url } = await signedRedirectRequest(legacy, (xml) => xml.replace(`ProtocolBinding="${HTTP_POST}"`, `ProtocolBinding="${ARTIFACT}"`), '');
      const since = app.logs.length;
      const page = await new TestBrowser().get(url);
      assert.equal(page.status, 400);
      assert.match(page.body, /The application sent a sign-in request that is not valid, so it was refused\./);
      assert.doesNotMatch(page.body, /name="SAMLResponse"/);
      assert.deepEqual(warnings(since, 'SAML_REQUEST_INVALID').map((line) => (line.detail as { reason?: string }).reason), ['unsupported-protocol-binding']);
    });
  });

  describe('request signature algorithms', () => {
    /** node-saml's unsigned Redirect URL with a detached signature made by node:crypto (node-saml itself has no RSA-SHA384). */
    async function redirectSignedWith(sigAlg: string, hash: string): Promise<string> {
      const unsigned = new URL(await redirectSp.client({ privateKey: undefined }).getAuthorizeUrlAsync('rs-384', undefined, {}));
      const octets = `${unsigned.search.slice(1)}&SigAlg=${encodeURIComponent(sigAlg)}`;
      const signature = createSign(hash).update(octets).sign(redirectSp.keyPem, 'base64');
      return `${unsigned.origin}${unsigned.pathname}?${octets}&Signature=${encodeURIComponent(signature)}`;
    }

    /** node-saml's unsigned POST AuthnRequest, enveloped-signed by xmlsec1 with the given algorithms. */
    async function postSignedWith(sigAlg: string, digest: string, c14n = 'http://www.w3.org/2001/10/xml-exc-c14n#'): Promise<Record<string, string>> {
      const fields = (await postSp.client({ privateKey: undefined }).getAuthorizeMessageAsync('rs-post', undefined, {})) as Record<string, string>;
      const xml = Buffer.from(fields.SAMLRequest!, 'base64').toString('utf8');
      const id = /ID="([^"]+)"/.exec(xml)![1]!;
      const template =
        `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="${c14n}"/>` +
        `<ds:SignatureMethod Algorithm="${sigAlg}"/><ds:Reference URI="#${id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
        `<ds:Transform Algorithm="${c14n}"/></ds:Transforms><ds:DigestMethod Algorithm="${digest}"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature>`;
      const signed = await xmlsecSign(xml.replace('</saml:Issuer>', `</saml:Issuer>${template}`), postSp.keyPem);
      assert.ok((await xmlsecVerify(signed, postSp.certPem, { idAttributes: ['urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest'] })).ok, 'xmlsec1 verifies its own signature');
      return { ...fields, SAMLRequest: Buffer.from(signed, 'utf8').toString('base64') };
    }
    const post = (fields: Record<string, string>) => new TestBrowser().request(`${app.url}/saml/sso`, { method: 'POST', body: new URLSearchParams(fields) });

    test('RSA-SHA384 is accepted on the Redirect binding (SigAlg)', async () => {
      const page = await new TestBrowser().get(await redirectSignedWith(RSA_SHA384, 'RSA-SHA384'));
      assert.ok(isPasswordPage(page), `${page.status} ${page.body.slice(0, 300)}`);
    });

    test('RSA-SHA384 is accepted in an embedded (POST) signature, with a SHA-256 or a SHA-384 digest', async () => {
      for (const digest of [SHA256, SHA384]) {
        const page = await post(await postSignedWith(RSA_SHA384, digest));
        assert.ok(isPasswordPage(page), `${digest}: ${page.status} ${page.body.slice(0, 300)}`);
      }
    });

    test('a signature that does not verify is still refused with RSA-SHA384', async () => {
      const since = app.logs.length;
      const url = (await redirectSignedWith(RSA_SHA384, 'RSA-SHA384')).replace('RelayState=rs-384', 'RelayState=rs-385');
      assert.equal((await new TestBrowser().get(url)).status, 400);
      const fields = await postSignedWith(RSA_SHA384, SHA384);
      const tampered = Buffer.from(fields.SAMLRequest!, 'base64').toString('utf8').replace('AllowCreate="true"', 'AllowCreate="false"');
      assert.equal((await post({ ...fields, SAMLRequest: Buffer.from(tampered).toString('base64') })).status, 400);
      assert.deepEqual(warnings(since, 'SAML_SIGNATURE_INVALID').map((line) => (line.detail as { reason?: string }).reason), ['redirect-signature-mismatch', 'signature-mismatch']);
    });

    test('SHA-1 stays refused, and the page says SHA-1 is what is refused (Redirect SigAlg, POST signature, POST digest)', async () => {
      const refusals: Array<[string, () => Promise<Page>]> = [
        ['Redirect rsa-sha1', async () => new TestBrowser().get(await redirectSignedWith(RSA_SHA1, 'RSA-SHA1'))],
        ['POST rsa-sha1', async () => post(await postSignedWith(RSA_SHA1, SHA256))],
        ['POST sha1 digest', async () => post(await postSignedWith(RSA_SHA256, SHA1))],
      ];
      for (const [name, send] of refusals) {
        const since = app.logs.length;
        const page = await send();
        assert.equal(page.status, 400, name);
        assert.match(page.body, SHA1_REFUSED, name);
        assert.match(page.body, /RSA-SHA256/, `${name}: says what to use instead`);
        assert.equal(warnings(since, 'SAML_SIGNATURE_INVALID').length, 1, `${name}: logged`);
      }
    });

    test('a sound signature with inclusive canonicalization (or with comments) is refused, and the page says what to sign with', async () => {
      for (const c14n of ['http://www.w3.org/TR/2001/REC-xml-c14n-20010315', 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments']) {
        const since = app.logs.length;
        const page = await post(await postSignedWith(RSA_SHA256, SHA256, c14n));
        assert.equal(page.status, 400, c14n);
        assert.match(page.body, /signed its request in a form this sign-in service does not accept \(its canonicalization or transforms\)\. The application(?:'|&#39;)s administrator must sign with Exclusive XML Canonicalization \(http:\/\/www\.w3\.org\/2001\/10\/xml-exc-c14n#\)/, c14n);
        assert.deepEqual(warnings(since, 'SAML_SIGNATURE_INVALID').map((line) => (line.detail as { reason?: string }).reason), ['transforms'], c14n);
      }
    });
  });

  describe('RelayState (saml-bindings §3.4.3, §3.5.3: at most 80 bytes)', () => {
    const idpInit = (relayState: string) => new TestBrowser().get(`${app.url}/saml/idp-init?sp=${encodeURIComponent(redirectSp.entityId)}&RelayState=${encodeURIComponent(relayState)}`);

    test('IdP-initiated: Stepgate sends it, so over 80 bytes is refused with a page that says the limit', async () => {
      assert.ok(isPasswordPage(await idpInit('r'.repeat(80))), '80 bytes are fine');
      for (const relayState of ['r'.repeat(81), '€'.repeat(27)]) {
        const since = app.logs.length;
        const page = await idpInit(relayState);
        assert.equal(page.status, 400);
        assert.match(page.body, /at most 80 bytes are allowed/);
        assert.match(page.body, /carries for the application is 81 bytes long/, 'counted in bytes, not characters');
        assert.doesNotMatch(page.body, /RelayState/, 'plain words: the protocol\'s name for it is in the warning only');
        const logged = warnings(since, 'SAML_REQUEST_INVALID');
        assert.deepEqual(logged.map((line) => (line.detail as { reason?: string }).reason), ['relay-state-too-long']);
      }
    });

    test('SP-initiated: the RelayState the SP sent is echoed exactly, also over 80 bytes', async () => {
      const relayState = `https://conform.sp.test/deep/link?${'x'.repeat(200)}`;
      const browser = new TestBrowser();
      const page = await sendAuthnRequest(browser, redirectSp, relayState);
      assert.ok(isPasswordPage(page));
      const { fields } = samlPostForm(await browser.submit(page, { username: 'alice', password: PASSWORD }));
      assert.equal(fields.RelayState, relayState);
    });
  });

  test('the assertion is valid from a minute before it was issued: an SP whose clock lags a few seconds accepts it', async () => {
    offsetMs = 5_000; // Stepgate's clock ahead of the SP's
    try {
      const browser = new TestBrowser();
      const page = await sendAuthnRequest(browser, redirectSp);
      assert.ok(isPasswordPage(page));
      const signedIn = await browser.submit(page, { username: 'alice', password: PASSWORD });
      const { profile } = await redirectSp.validate(samlPostForm(signedIn).fields.SAMLResponse!);
      assert.ok(profile?.nameID);
      const xml = responseXml(signedIn);
      const issueInstant = Date.parse(/<saml:Assertion [^>]*IssueInstant="([^"]+)"/.exec(xml)![1]!);
      const notBefore = Date.parse(/<saml:Conditions NotBefore="([^"]+)"/.exec(xml)![1]!);
      assert.equal(issueInstant - notBefore, 60_000);
      assert.doesNotMatch(/<saml:SubjectConfirmationData [^>]*>/.exec(xml)![0], /NotBefore/, 'the bearer confirmation keeps no NotBefore (saml-profiles §4.1.4.2)');
    } finally {
      offsetMs = 0;
    }
  });
});

/** xmlsec1 fills in an enveloped-signature template (DigestValue, SignatureValue) with the key. */
async function xmlsecSign(xml: string, keyPem: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-xmlsec-sign-'));
  try {
    await writeFile(join(dir, 'in.xml'), xml);
    await writeFile(join(dir, 'key.pem'), keyPem);
    await run('xmlsec1', ['--sign', '--privkey-pem', join(dir, 'key.pem'), '--id-attr:ID', 'urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest', '--output', join(dir, 'out.xml'), join(dir, 'in.xml')]);
    return await readFile(join(dir, 'out.xml'), 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
