import { sign, type BinaryLike, type KeyLike } from 'node:crypto';
import { SignedXml, type ErrorFirstCallback } from 'xml-crypto';
import { ALGORITHM } from './constants.ts';
import type { IdpSigner } from './idp-identity.ts';

/** What gets an enveloped signature, and where the ds:Signature goes so the result stays schema-valid. */
const PLACEMENT = {
  // Protocol messages: the signature follows the message's own Issuer (saml-core §3.2.1/§3.2.2).
  Response: { reference: "/*[local-name(.)='Response']/*[local-name(.)='Issuer']", action: 'after' },
  // Metadata: ds:Signature is the first child of EntityDescriptor (saml-metadata §2.3.2).
  EntityDescriptor: { reference: "/*[local-name(.)='EntityDescriptor']/*[1]", action: 'before' },
} as const;

export type SignedElement = keyof typeof PLACEMENT;

/**
 * xml-crypto's own RSA-SHA256 signs on the main thread (about 0.7 ms here, blocking every other
 * request); handed a callback, this one signs in the thread pool.
 */
class ThreadPoolRsaSha256 {
  getSignature(signedInfo: BinaryLike, privateKey: KeyLike): string;
  getSignature(signedInfo: BinaryLike, privateKey: KeyLike, callback?: ErrorFirstCallback<string>): void;
  getSignature(signedInfo: BinaryLike, privateKey: KeyLike, callback?: ErrorFirstCallback<string>): string | void {
    if (!callback) throw new Error('signs only asynchronously');
    sign('sha256', typeof signedInfo === 'string' ? Buffer.from(signedInfo, 'utf8') : signedInfo, privateKey, (error, signature) => (error ? callback(error) : callback(null, signature.toString('base64'))));
  }

  verifySignature(): boolean {
    throw new Error('signs only');
  }

  getAlgorithmName(): string {
    return ALGORITHM.rsaSha256;
  }
}

/**
 * Signs the root with the active key through xml-crypto: RSA-SHA256, SHA-256 digest, exc-c14n,
 * enveloped. For XML that is not Stepgate's own canonical text (metadata once per key set, a Response
 * around an EncryptedAssertion); the rest goes through canonical-signature.ts.
 */
export function signXml(xml: string, element: SignedElement, signer: IdpSigner): Promise<string> {
  const signed = new SignedXml({ privateKey: signer.privateKey, signatureAlgorithm: ALGORITHM.rsaSha256, canonicalizationAlgorithm: ALGORITHM.excC14n });
  signed.SignatureAlgorithms = { ...signed.SignatureAlgorithms, [ALGORITHM.rsaSha256]: ThreadPoolRsaSha256 };
  signed.addReference({ xpath: '/*', transforms: [ALGORITHM.envelopedSignature, ALGORITHM.excC14n], digestAlgorithm: ALGORITHM.sha256 });
  signed.getKeyInfoContent = () => `<ds:X509Data><ds:X509Certificate>${signer.certificateBody}</ds:X509Certificate></ds:X509Data>`;
  return new Promise((resolve, reject) => {
    signed.computeSignature(xml, { prefix: 'ds', location: PLACEMENT[element] }, (error, result) => (error || !result ? reject(error ?? new Error('no signature')) : resolve(result.getSignedXml())));
  });
}
