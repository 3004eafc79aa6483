import samlify from 'samlify';
import { ALGORITHM } from './constants.ts';
import type { IdpSigner } from './idp-identity.ts';

/** What gets an enveloped signature, and where the ds:Signature goes so the result stays schema-valid. */
const PLACEMENT = {
  // Protocol messages: the signature follows the message's own Issuer (saml-core §3.2.1/§3.2.2).
  Response: { reference: "/*[local-name(.)='Response']/*[local-name(.)='Issuer']", action: 'after' },
  LogoutResponse: { reference: "/*[local-name(.)='LogoutResponse']/*[local-name(.)='Issuer']", action: 'after' },
  // An assertion's signature follows the assertion's Issuer (saml-core §2.3.3).
  Assertion: { reference: "/*[local-name(.)='Response']/*[local-name(.)='Assertion']/*[local-name(.)='Issuer']", action: 'after' },
  // Metadata: ds:Signature is the first child of EntityDescriptor (saml-metadata §2.3.2).
  EntityDescriptor: { reference: "/*[local-name(.)='EntityDescriptor']/*[1]", action: 'before' },
} as const;

export type SignedElement = keyof typeof PLACEMENT;

/**
 * Signs with the active key through samlify (xml-crypto underneath): RSA-SHA256, SHA-256 digest,
 * exc-c14n, enveloped. `Assertion` signs the Response's single assertion; the others sign the root.
 */
export function signXml(xml: string, element: SignedElement, signer: IdpSigner): string {
  return samlify.SamlLib.constructSAMLSignature({
    rawSamlMessage: xml,
    ...(element === 'Assertion' ? { referenceTagXPath: "/*[local-name(.)='Response']/*[local-name(.)='Assertion']" } : { isMessageSigned: true }),
    // samlify passes the key through to node:crypto untouched, and a KeyObject saves re-parsing the PEM.
    privateKey: signer.privateKey as unknown as string,
    signingCert: signer.certificateBody,
    signatureAlgorithm: ALGORITHM.rsaSha256,
    transformationAlgorithms: [ALGORITHM.envelopedSignature, ALGORITHM.excC14n],
    isBase64Output: false,
    signatureConfig: { prefix: 'ds', location: PLACEMENT[element] },
  });
}
