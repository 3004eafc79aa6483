import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { signXml } from '../../src/saml/xml-sign.ts';
import { signCanonical } from '../../src/saml/canonical-signature.ts';
import { readRedirectQuery, signedRedirectUrl, verifyRedirectSignature } from '../../src/saml/redirect-binding.ts';
import { statusResponseXml } from '../../src/saml/response-xml.ts';
import type { IdpSigner } from '../../src/saml/idp-identity.ts';
import { STATUS } from '../../src/saml/constants.ts';
import { assertXmlsecVerifies, xmlsecVerify, createTestSigner } from '../helpers/saml-sp.ts';

/**
 * Every RSA signature the IdP makes runs in the thread pool: a synchronous one holds every other
 * request for the whole signature (about 0.7 ms on a 2-core VM). Here node:crypto's synchronous
 * signing is made to throw, for xml-crypto (createSign) and for Stepgate's own code (sign without a
 * callback), and every kind of signed output must still come out, and verify.
 */
const nodeCrypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
const original = { sign: nodeCrypto.sign, createSign: nodeCrypto.createSign };

describe('SAML signatures never run on the main thread', () => {
  let signer: IdpSigner;
  let certificatePem: string;

  before(async () => {
    ({ signer, certificatePem } = await createTestSigner());
    const onMainThread = () => {
      throw new Error('a synchronous RSA signature on the main thread');
    };
    Object.assign(nodeCrypto, {
      createSign: onMainThread,
      sign: (...args: Parameters<typeof original.sign>) => (typeof args[3] === 'function' ? original.sign(...args) : onMainThread()),
    });
    syncBuiltinESMExports();
  });

  after(() => {
    Object.assign(nodeCrypto, original);
    syncBuiltinESMExports();
  });

  const header = { id: '_r1', issueInstant: new Date('2026-11-23T10:00:00Z'), issuer: 'https://idp.test/saml/metadata', destination: 'https://sp.example/acs', inResponseTo: '_a1' };

  test('a Response signed through a DOM (around an EncryptedAssertion) verifies with xmlsec1', async () => {
    const signed = await signXml(statusResponseXml(header, { top: STATUS.success }), 'Response', signer);
    await assertXmlsecVerifies(signed, certificatePem);
  });

  test('the IdP metadata signature verifies with xmlsec1', async () => {
    const metadata = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" ID="_m1" entityID="https://idp.test/saml/metadata"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.test/saml/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>`;
    const signed = await signXml(metadata, 'EntityDescriptor', signer);
    assert.match(signed, /^<md:EntityDescriptor [^>]*><ds:Signature /, 'the signature is the first child');
    const result = await xmlsecVerify(signed, certificatePem, { idAttributes: ['urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor'] });
    assert.ok(result.ok, result.output);
  });

  test('a message signed from its canonical text verifies with xmlsec1', async () => {
    await assertXmlsecVerifies(await signCanonical(statusResponseXml(header, { top: STATUS.success }), 'Response', signer), certificatePem);
  });

  test('an HTTP-Redirect message (a LogoutRequest or LogoutResponse to an SP) carries a signature that verifies', async () => {
    const url = new URL(await signedRedirectUrl('https://sp.example/slo', 'SAMLResponse', '<x/>', 'state', signer.privateKey));
    verifyRedirectSignature(readRedirectQuery(url.search.slice(1), 'SAMLResponse'), [certificatePem], 'https://sp.example/metadata');
  });
});
