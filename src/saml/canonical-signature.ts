import { createHash, sign, type KeyObject } from 'node:crypto';
import { ALGORITHM, NS } from './constants.ts';
import { element } from './canonical-xml.ts';
import type { IdpSigner } from './idp-identity.ts';

/** Elements of Stepgate's own messages (response-xml.ts) that are signed from their text. */
export type CanonicalSigned = 'Response' | 'LogoutResponse' | 'LogoutRequest' | 'Assertion';

const TAGS: Record<CanonicalSigned, { start: string; end: string }> = {
  Response: { start: '<samlp:Response ', end: '</samlp:Response>' },
  LogoutResponse: { start: '<samlp:LogoutResponse ', end: '</samlp:LogoutResponse>' },
  LogoutRequest: { start: '<samlp:LogoutRequest ', end: '</samlp:LogoutRequest>' },
  Assertion: { start: '<saml:Assertion ', end: '</saml:Assertion>' },
};
const ISSUER_END = '</saml:Issuer>';
/** xs appears only inside xsi:type values, so exc-c14n would drop its declaration without this. */
const INCLUSIVE_PREFIXES = 'xs';

/**
 * An enveloped XML-DSig signature (RSA-SHA256, SHA-256, exc-c14n) over a message Stepgate wrote in
 * canonical form: the referenced element's text is its canonical form, so the digest is one hash of a
 * substring, and only SignedInfo is signed. It goes after the element's Issuer (saml-core §2.3.3,
 * §3.2.1). The same bytes an SP's verifier canonicalises are checked with xmlsec1 and xml-crypto in tests.
 * The RSA signature runs in the thread pool: it is most of the work, and the main thread is what
 * limits how many sign-ins one process answers.
 */
export async function signCanonical(xml: string, signed: CanonicalSigned, signer: IdpSigner): Promise<string> {
  const { start: startTag, end: endTag } = TAGS[signed];
  const start = xml.indexOf(startTag);
  const end = xml.indexOf(endTag, start);
  if (start < 0 || end < 0 || (signed !== 'Assertion' && start !== 0)) throw new Error(`no ${signed} element to sign`);
  const subtree = xml.slice(start, end + endTag.length);
  // Attribute values hold no raw '"' (c14n writes &quot;) but may hold a raw '>', so the start tag is read attribute by attribute.
  const id = /^<[\w:]+(?:\s+[\w:]+="[^"]*")*?\s+ID="([^"]+)"/.exec(subtree)?.[1];
  if (!id) throw new Error(`the ${signed} element has no ID`);
  const digest = createHash('sha256').update(subtree).digest('base64');
  // Canonical SignedInfo on its own declares ds:; inside ds:Signature the declaration is the parent's.
  const value = (await rsaSha256(Buffer.from(signedInfo(id, digest, { ds: NS.dsig })), signer.privateKey)).toString('base64');
  const signature = element(
    'ds:Signature',
    { ns: { ds: NS.dsig } },
    signedInfo(id, digest),
    element('ds:SignatureValue', {}, value),
    element('ds:KeyInfo', {}, element('ds:X509Data', {}, element('ds:X509Certificate', {}, signer.certificateBody))),
  );
  const afterIssuer = xml.indexOf(ISSUER_END, start);
  if (afterIssuer < 0 || afterIssuer > end) throw new Error(`the ${signed} element has no Issuer`);
  const at = afterIssuer + ISSUER_END.length;
  return xml.slice(0, at) + signature + xml.slice(at);
}

/** RSA-SHA256 in the thread pool: a synchronous signature would hold every other request for about 0.7 ms. */
export function rsaSha256(data: Buffer, key: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => sign('sha256', data, key, (error, signature) => (error ? reject(error) : resolve(signature))));
}

function signedInfo(id: string, digest: string, ns?: Record<string, string>): string {
  return element(
    'ds:SignedInfo',
    { ns },
    element('ds:CanonicalizationMethod', { attributes: { Algorithm: ALGORITHM.excC14n } }),
    element('ds:SignatureMethod', { attributes: { Algorithm: ALGORITHM.rsaSha256 } }),
    element(
      'ds:Reference',
      { attributes: { URI: `#${id}` } },
      element(
        'ds:Transforms',
        {},
        element('ds:Transform', { attributes: { Algorithm: ALGORITHM.envelopedSignature } }),
        element('ds:Transform', { attributes: { Algorithm: ALGORITHM.excC14n } }, element('ec:InclusiveNamespaces', { ns: { ec: NS.excC14n }, attributes: { PrefixList: INCLUSIVE_PREFIXES } })),
      ),
      element('ds:DigestMethod', { attributes: { Algorithm: ALGORITHM.sha256 } }),
      element('ds:DigestValue', {}, digest),
    ),
  );
}
