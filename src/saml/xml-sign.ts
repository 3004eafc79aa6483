import samlify from 'samlify';
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
 * Signs the root with the active key through samlify (xml-crypto underneath): RSA-SHA256, SHA-256
 * digest, exc-c14n, enveloped. For XML that is not Stepgate's own canonical text (metadata once per
 * key set, a Response around an EncryptedAssertion); the rest goes through canonical-signature.ts.
 */
export function signXml(xml: string, element: SignedElement, signer: IdpSigner): string {
  return samlify.SamlLib.constructSAMLSignature({
    rawSamlMessage: xml,
    isMessageSigned: true,
    // samlify passes the key through to node:crypto untouched, and a KeyObject saves re-parsing the PEM.
    privateKey: signer.privateKey as unknown as string,
    signingCert: signer.certificateBody,
    signatureAlgorithm: ALGORITHM.rsaSha256,
    transformationAlgorithms: [ALGORITHM.envelopedSignature, ALGORITHM.excC14n],
    isBase64Output: false,
    signatureConfig: { prefix: 'ds', location: PLACEMENT[element] },
  });
}
