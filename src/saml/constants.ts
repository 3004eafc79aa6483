/** SAML 2.0 and XML-DSig identifiers used across the adapter (one place, so a typo cannot hide in a route). */

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  xs: 'http://www.w3.org/2001/XMLSchema',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;

export const BINDING = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
} as const;

export type BindingName = keyof typeof BINDING;

export const NAMEID_FORMAT = {
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
} as const;

export type NameIdFormatName = keyof typeof NAMEID_FORMAT;

export const STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  responder: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
  invalidNameIdPolicy: 'urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy',
  noPassive: 'urn:oasis:names:tc:SAML:2.0:status:NoPassive',
  noAuthnContext: 'urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext',
  requestDenied: 'urn:oasis:names:tc:SAML:2.0:status:RequestDenied',
  authnFailed: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
  unsupportedBinding: 'urn:oasis:names:tc:SAML:2.0:status:UnsupportedBinding',
  unknownPrincipal: 'urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal',
  partialLogout: 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout',
} as const;

export const ATTRNAME_FORMAT = {
  uri: 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
  basic: 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
  unspecified: 'urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified',
} as const;

export const ALGORITHM = {
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha384: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384',
  rsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha384: 'http://www.w3.org/2001/04/xmldsig-more#sha384',
  sha512: 'http://www.w3.org/2001/04/xmlenc#sha512',
  envelopedSignature: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
} as const;

/** Signature algorithms accepted on inbound messages, with their node:crypto hash; SHA-1 is refused (collision-broken, saml-sec-consider §6.5). */
export const ACCEPTED_SIGNATURE_ALGORITHMS: ReadonlyMap<string, string> = new Map([
  [ALGORITHM.rsaSha256, 'sha256'],
  [ALGORITHM.rsaSha384, 'sha384'],
  [ALGORITHM.rsaSha512, 'sha512'],
]);

/** Digest algorithms accepted in an inbound message's signature, with their node:crypto hash. */
export const ACCEPTED_DIGEST_ALGORITHMS: ReadonlyMap<string, string> = new Map([
  [ALGORITHM.sha256, 'sha256'],
  [ALGORITHM.sha384, 'sha384'],
  [ALGORITHM.sha512, 'sha512'],
]);

/** The SHA-1 identifiers (XML-DSig's rsa-sha1 and sha1): named only to tell an SP that signs with them why it is refused. */
export const SHA1_ALGORITHMS: ReadonlySet<string> = new Set(['http://www.w3.org/2000/09/xmldsig#rsa-sha1', 'http://www.w3.org/2000/09/xmldsig#sha1']);

export const PROTOCOL_SUPPORT = NS.protocol;

export const SUBJECT_CONFIRMATION_BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

/** saml-bindings §3.4.3 says 80 bytes; real SPs send URLs, so Stepgate allows more from an SP but still bounds it. */
export const MAX_RELAY_STATE_BYTES = 1024;

/** saml-bindings §3.4.3/§3.5.3: the sender's limit, and for an unsolicited Response Stepgate is the sender. */
export const MAX_IDP_INITIATED_RELAY_STATE_BYTES = 80;
