import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { DOMParser } from '@xmldom/xmldom';
import { ExclusiveCanonicalization, SignedXml } from 'xml-crypto';
import { successResponseXml, statusResponseXml, logoutRequestXml, logoutResponseXml, type AssertionContent, type MessageHeader } from '../../src/saml/response-xml.ts';
import { signCanonical } from '../../src/saml/canonical-signature.ts';
import { xmlRepresentable } from '../../src/saml/canonical-xml.ts';
import type { IdpSigner } from '../../src/saml/idp-identity.ts';
import { STATUS } from '../../src/saml/constants.ts';
import { samlSchemas } from '../../src/saml/schema-validator.ts';
import { xmlsecVerify, createTestSigner } from '../helpers/saml-sp.ts';

/** Values that exercise every escaping rule of c14n (text and attributes), non-ASCII and astral characters. */
const TRICKY = `Ann & "Bob" <o'Neil> \t tab\nnew line\r\ncarriage é€😀 ]]>`;

const header = (overrides: Partial<MessageHeader> = {}): MessageHeader => ({ id: '_r1', issueInstant: new Date('2026-11-22T10:00:00.123Z'), issuer: 'https://idp.test/saml/metadata?a=1&b="2"', destination: 'https://sp.example/acs?x=<1>', inResponseTo: '_a1', ...overrides });

const assertion = (): AssertionContent => ({
  id: '_as1',
  audience: 'https://sp.example/metadata&tab\t',
  nameId: { value: TRICKY, format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified', nameQualifier: 'https://idp.test/saml/metadata', spNameQualifier: 'https://sp.example/"metadata"' },
  notOnOrAfter: new Date('2026-11-22T10:05:00Z'),
  authnInstant: new Date('2026-11-22T09:59:00Z'),
  sessionIndex: 'idx<&>',
  authnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
  attributes: [
    { name: 'urn:oid:2.5.4.42', nameFormat: 'uri', friendlyName: 'givenName', values: [TRICKY, 'second value'] },
    { name: 'groups', nameFormat: 'basic', values: ['staff', 'a&b', '<admins>'] },
  ],
});

/** xml-crypto's own exclusive canonicalization of the element with this ID (PrefixList "xs", as the signature says). */
function canonicalOf(xml: string, id: string): string {
  const document = new DOMParser().parseFromString(xml, 'text/xml');
  const found = [...Array.from(document.getElementsByTagName('*'))].find((node) => node.getAttribute('ID') === id);
  assert.ok(found, `element ${id}`);
  const clone = found.cloneNode(true) as Element;
  for (const signature of Array.from(clone.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')).filter((node) => node.parentNode === clone)) clone.removeChild(signature);
  return new ExclusiveCanonicalization().process(clone as never, { inclusiveNamespacesPrefixList: ['xs'] }) as string;
}

function checkWithXmlCrypto(xml: string, certificatePem: string): void {
  const document = new DOMParser().parseFromString(xml, 'text/xml');
  const signatures = Array.from(document.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature'));
  assert.ok(signatures.length > 0);
  for (const signature of signatures) {
    const verifier = new SignedXml({ publicCert: certificatePem });
    verifier.loadSignature(signature as never);
    assert.equal(verifier.checkSignature(xml), true, 'xml-crypto accepts the signature');
  }
}

describe('SAML messages signed from their canonical text', () => {
  let signer: IdpSigner;
  let certificatePem: string;

  before(async () => {
    ({ signer, certificatePem } = await createTestSigner());
  });

  test('the written XML is its own exclusive canonical form (compared with xml-crypto\'s canonicalizer)', async () => {
    const xml = successResponseXml(header(), assertion());
    assert.equal(canonicalOf(xml, '_r1'), xml, 'the Response text is canonical');
    const assertionText = xml.slice(xml.indexOf('<saml:Assertion '), xml.indexOf('</saml:Assertion>') + '</saml:Assertion>'.length);
    assert.equal(canonicalOf(xml, '_as1'), assertionText, 'the Assertion text is canonical on its own');
    const signed = await signCanonical(await signCanonical(xml, 'Assertion', signer), 'Response', signer);
    assert.equal(canonicalOf(signed, '_r1'), signed.replace(/<ds:Signature [^]*?<\/ds:Signature>(?=<samlp:Status>)/, ''), 'still canonical with the assertion\'s signature inside');
  });

  test('a value XML 1.0 cannot carry is refused, never altered to fit', () => {
    for (const value of ['alice@example.org\u0001', 'a\u001Fb', 'lone \uD800 surrogate', 'x\uFFFE']) {
      assert.equal(xmlRepresentable(value), false, JSON.stringify(value));
      assert.throws(() => successResponseXml(header(), { ...assertion(), nameId: { ...assertion().nameId, value } }), /cannot carry/);
      assert.throws(() => successResponseXml(header({ destination: `https://sp.example/${value}` }), assertion()), /cannot carry/);
    }
    assert.equal(xmlRepresentable(TRICKY), true);
  });

  test('assertion and response signatures verify with xmlsec1 and xml-crypto, and the message is schema-valid', async () => {
    const signed = await signCanonical(await signCanonical(successResponseXml(header(), assertion()), 'Assertion', signer), 'Response', signer);
    samlSchemas().validateProtocol(signed);
    checkWithXmlCrypto(signed, certificatePem);
    const root = await xmlsecVerify(signed, certificatePem, {});
    assert.ok(root.ok, root.output);
    const inner = await xmlsecVerify(signed, certificatePem, { nodeXpath: "//*[local-name()='Assertion']/*[local-name()='Signature']" });
    assert.ok(inner.ok, inner.output);
    // Placement: each signature right after its element's Issuer (saml-core §2.3.3, §3.2.1).
    // (Attribute values may hold a raw '>', so a start tag is matched attribute by attribute.)
    assert.match(signed, /^<samlp:Response (?:[^>"]|"[^"]*")*><saml:Issuer (?:[^>"]|"[^"]*")*>[^<]*<\/saml:Issuer><ds:Signature /);
    assert.match(signed, /<saml:Assertion (?:[^>"]|"[^"]*")*><saml:Issuer>[^<]*<\/saml:Issuer><ds:Signature /);
  });

  test('status and logout responses are signed the same way', async () => {
    for (const xml of [
      statusResponseXml(header(), { top: STATUS.requester, second: 'urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext', message: TRICKY }),
      logoutResponseXml(header({ id: '_l1' }), { top: STATUS.success }),
    ]) {
      const signed = await signCanonical(xml, xml.startsWith('<samlp:LogoutResponse') ? 'LogoutResponse' : 'Response', signer);
      samlSchemas().validateProtocol(signed);
      checkWithXmlCrypto(signed, certificatePem);
      const result = await xmlsecVerify(signed, certificatePem, { idAttributes: ['urn:oasis:names:tc:SAML:2.0:protocol:Response', 'urn:oasis:names:tc:SAML:2.0:protocol:LogoutResponse'] });
      assert.ok(result.ok, result.output);
    }
  });

  test('logout requests are canonical, schema-valid, and signed the same way', async () => {
    const content = { nameId: { value: TRICKY, format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', nameQualifier: 'https://idp.test/saml/metadata', spNameQualifier: 'https://sp.example/"metadata"' }, sessionIndex: 'idx<&>', notOnOrAfter: new Date('2026-11-22T10:05:00Z') };
    const { inResponseTo: _none, ...requestHeader } = header({ id: '_lr1', destination: 'https://sp.example/slo?x=<1>' });
    const xml = logoutRequestXml(requestHeader, content);
    assert.equal(canonicalOf(xml, '_lr1'), xml, 'the LogoutRequest text is canonical');
    assert.match(xml, /^<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Destination="[^"]+" ID="_lr1" IssueInstant="2026-11-22T10:00:00.123Z" NotOnOrAfter="2026-11-22T10:05:00.000Z" Reason="urn:oasis:names:tc:SAML:2.0:logout:user" Version="2.0"/);
    assert.match(xml, /<samlp:SessionIndex>idx&lt;&amp;&gt;<\/samlp:SessionIndex><\/samlp:LogoutRequest>$/);
    const withoutIndex = logoutRequestXml(requestHeader, { ...content, sessionIndex: undefined });
    assert.doesNotMatch(withoutIndex, /SessionIndex/);
    for (const unsigned of [xml, withoutIndex]) {
      samlSchemas().validateProtocol(unsigned);
      const signed = await signCanonical(unsigned, 'LogoutRequest', signer);
      samlSchemas().validateProtocol(signed);
      assert.match(signed, /^<samlp:LogoutRequest (?:[^>"]|"[^"]*")*><saml:Issuer (?:[^>"]|"[^"]*")*>[^<]*<\/saml:Issuer><ds:Signature /);
      checkWithXmlCrypto(signed, certificatePem);
      const result = await xmlsecVerify(signed, certificatePem, { idAttributes: ['urn:oasis:names:tc:SAML:2.0:protocol:LogoutRequest'] });
      assert.ok(result.ok, result.output);
    }
  });

  test('a changed byte anywhere in the signed content breaks the signature', async () => {
    const signed = await signCanonical(await signCanonical(successResponseXml(header(), assertion()), 'Assertion', signer), 'Response', signer);
    for (const tampered of [signed.replace('second value', 'second valuE'), signed.replace('a&amp;b', 'a&amp;c'), signed.replace('idx&lt;&amp;>', 'idx')]) {
      assert.notEqual(tampered, signed);
      const result = await xmlsecVerify(tampered, certificatePem, {});
      assert.equal(result.ok, false);
    }
  });

  test('refuses what it cannot sign', async () => {
    await assert.rejects(signCanonical('<samlp:Response ID="_x"></samlp:Response>', 'Assertion', signer), /no Assertion/);
    await assert.rejects(signCanonical('<samlp:Response Version="2.0"><saml:Issuer>x</saml:Issuer></samlp:Response>', 'Response', signer), /no ID/);
  });
});
