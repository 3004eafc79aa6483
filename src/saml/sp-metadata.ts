import { X509Certificate } from 'node:crypto';
import xpath from 'xpath';
import { AppError } from '../core/errors.ts';
import { canonicalFormIfDifferent } from '../core/url-form.ts';
import { BINDING, NS, PROTOCOL_SUPPORT, type BindingName } from './constants.ts';
import { SchemaViolation, type SamlSchemas } from './schema-validator.ts';
import { attribute, booleanAttribute, elementChildren, parseStrict, textOf, uriAttribute } from './xml-dom.ts';
import type { AcsEndpoint, CertificateInfo, SloEndpoint } from './sp-types.ts';
import { instantAttribute } from './saml-time.ts';
import { requiredAttributes, type RequiredAttribute } from './sp-requested-attributes.ts';

export const MAX_METADATA_BYTES = 256 * 1024;
const MIN_RSA_BITS = 2048;

const select = xpath.useNamespaces({ ds: NS.dsig });

export interface ParsedSpMetadata {
  entityId: string;
  authnRequestsSigned: boolean;
  wantAssertionsSigned: boolean;
  acs: AcsEndpoint[];
  slo: SloEndpoint[];
  /** use="signing" plus unqualified KeyDescriptors (usable for both). */
  signingCertificates: CertificateInfo[];
  /** use="encryption" only. */
  encryptionCertificates: CertificateInfo[];
  /** Unqualified KeyDescriptors: may encrypt to them when an administrator asks for it. */
  unqualifiedCertificates: CertificateInfo[];
  nameIdFormats: string[];
  /** RequestedAttributes marked isRequired="true", checked against the attribute release at registration. */
  requiredAttributes: RequiredAttribute[];
}

export interface MetadataCheck {
  metadata: ParsedSpMetadata;
  /** Accepted but worth telling the administrator (expired certificates, plain http endpoints ...). */
  warnings: string[];
}

/**
 * Validates SP metadata and reads what Stepgate needs from it. Refusals are METADATA_INVALID with a
 * message precise enough for the administrator (shown by the CLI as is).
 */
export function parseSpMetadata(xml: string, schemas: SamlSchemas, now: number): MetadataCheck {
  if (Buffer.byteLength(xml, 'utf8') > MAX_METADATA_BYTES) refuse(`it is larger than ${MAX_METADATA_BYTES / 1024} KB`);
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) refuse('it contains a DOCTYPE or ENTITY declaration, which SAML metadata never needs');
  // A PEM file pasted whole into hand-written metadata: libxml2's complaint stops at its first line.
  // Only up to the tag's own end ([^<>]): read up to any later ">", each tag of a crafted file was followed to the end of the file (5 s for 256 KB).
  if (/<(?:[\w.-]+:)?X509Certificate\b[^<>]*>\s*-----BEGIN/.test(xml)) refuse('a ds:X509Certificate holds a PEM certificate with its -----BEGIN CERTIFICATE----- line; put only the base64 text between the BEGIN and END lines there');
  try {
    schemas.validateSpMetadata(xml);
  } catch (error) {
    if (error instanceof SchemaViolation) refuse(`it does not match the SP metadata schema: ${error.message}`);
    throw error;
  }
  const document = parseStrict(xml, 'METADATA_INVALID').documentElement;
  const root = onlyEntity(document);
  // Collapsed as the schema reads it: a trailing space must not register the same SP a second time.
  const entityId = uriAttribute(root, 'entityID', refuse)!;
  const descriptor = onlySpDescriptor(root);
  if (!(descriptor.getAttribute('protocolSupportEnumeration') ?? '').split(/\s+/).includes(PROTOCOL_SUPPORT)) {
    refuse(`SPSSODescriptor does not list ${PROTOCOL_SUPPORT} in protocolSupportEnumeration`);
  }
  const warnings: string[] = [];
  const certificates = readKeyDescriptors(descriptor, now, warnings);
  const acs = readAcs(descriptor, warnings);
  const slo = readSlo(descriptor, warnings);
  const authnRequestsSigned = booleanAttribute(descriptor, 'AuthnRequestsSigned', refuse);
  const signingCertificates = [...certificates.signing, ...certificates.unqualified];
  if (authnRequestsSigned && signingCertificates.length === 0) refuse('AuthnRequestsSigned="true" but the metadata has no signing certificate');
  if (slo.length > 0 && signingCertificates.length === 0) warnings.push('SingleLogoutService is listed but there is no signing certificate: the LogoutRequests of this SP will be refused (they must be signed)');
  const wrapper = document === root ? [] : [[document, 'EntitiesDescriptor'] as const];
  for (const [element, what] of [...wrapper, [root, 'EntityDescriptor'], [descriptor, 'SPSSODescriptor']] as const) {
    const validUntil = instantAttribute(element, 'validUntil', refuse);
    if (validUntil !== undefined && validUntil < now) warnings.push(`the ${what}'s validUntil (${attribute(element, 'validUntil')}) is in the past`);
  }
  // Only a trust anchor (a federation's signing certificate) could make a signature here mean anything, and Stepgate has none.
  if ([document, root].some((element) => elementChildren(element, NS.dsig, 'Signature').length > 0)) warnings.push('the metadata is signed, but its signature was not checked: make sure the file came from the SP (for a URL, https vouches for the server)');
  return {
    metadata: {
      entityId,
      authnRequestsSigned,
      wantAssertionsSigned: booleanAttribute(descriptor, 'WantAssertionsSigned', refuse),
      acs,
      slo,
      signingCertificates,
      encryptionCertificates: certificates.encryption,
      unqualifiedCertificates: certificates.unqualified,
      nameIdFormats: elementChildren(descriptor, NS.metadata, 'NameIDFormat').map((element) => textOf(element) ?? ''),
      requiredAttributes: requiredAttributes(descriptor),
    },
    warnings,
  };
}

/** Entity IDs an EntitiesDescriptor refusal names, so the administrator sees which file it was. */
const NAMED_ENTITIES = 5;

/**
 * The one EntityDescriptor to register: the root, or the only one an EntitiesDescriptor wraps (some
 * products and federation tools publish a single SP that way). An aggregate of several is refused
 * by name: registering one of them would be a guess.
 */
function onlyEntity(document: Element): Element {
  if (document.localName !== 'EntitiesDescriptor') return document;
  const entities = entitiesIn(document);
  if (entities.length === 1) return entities[0]!;
  // Printed as they are read, but for invisible characters, which could make the line say something else.
  const named = entities.slice(0, NAMED_ENTITIES).map((entity) => (entity.getAttribute('entityID') ?? '').slice(0, 200).replace(/[\p{Cc}\p{Cf}]/gu, '?'));
  const more = entities.length > NAMED_ENTITIES ? `, and ${entities.length - NAMED_ENTITIES} more` : '';
  return refuse(`it is an EntitiesDescriptor holding ${entities.length} entities (${named.join(', ')}${more}), and sp add registers one service provider at a time: give each SP's own metadata (its EntityDescriptor)`);
}

/** The EntityDescriptors of an EntitiesDescriptor, nested ones included, in document order. */
function entitiesIn(group: Element): Element[] {
  const found: Element[] = [];
  for (let node = group.firstChild; node; node = node.nextSibling) {
    const child = node as Element;
    if (node.nodeType !== node.ELEMENT_NODE || child.namespaceURI !== NS.metadata) continue;
    if (child.localName === 'EntityDescriptor') found.push(child);
    else if (child.localName === 'EntitiesDescriptor') found.push(...entitiesIn(child));
  }
  return found;
}

/**
 * The entity's SPSSODescriptor. Its other roles (an AD FS or combined IdP/SP entity lists RoleDescriptor
 * and IDPSSODescriptor too) are left unread; an entity with no SP role is named for what it is,
 * since an identity provider's metadata is the usual wrong file.
 */
function onlySpDescriptor(entity: Element): Element {
  const descriptors = elementChildren(entity, NS.metadata, 'SPSSODescriptor');
  if (descriptors.length > 1) refuse(`the EntityDescriptor has ${descriptors.length} SPSSODescriptor elements; Stepgate reads one`);
  if (descriptors.length === 0) {
    const idp = elementChildren(entity, NS.metadata, 'IDPSSODescriptor').length > 0 ? ': this is the metadata of an identity provider (IDPSSODescriptor), not of a service provider' : '';
    refuse(`the EntityDescriptor has no SPSSODescriptor${idp}`);
  }
  return descriptors[0]!;
}

const SHA1_DIGEST = 'http://www.w3.org/2000/09/xmldsig#sha1';

/**
 * The digests the RSA-OAEP EncryptionMethods name (their ds:DigestMethod, xmlenc-core1 §5.5.2) when
 * none of them takes SHA-1, the one the encryption library writes: a method naming no digest, or SHA-1,
 * says the SP takes it.
 */
function oaepDigestsWithoutSha1(methods: Element[]): string[] {
  const digests = methods
    .filter((method) => /#rsa-oaep/.test(uriAttribute(method, 'Algorithm') ?? ''))
    .map((method) => elementChildren(method, NS.dsig, 'DigestMethod').flatMap((digest) => uriAttribute(digest, 'Algorithm') ?? [])[0] ?? SHA1_DIGEST);
  return digests.includes(SHA1_DIGEST) ? [] : [...new Set(digests)];
}

function readKeyDescriptors(descriptor: Element, now: number, warnings: string[]) {
  const out = { signing: [] as CertificateInfo[], encryption: [] as CertificateInfo[], unqualified: [] as CertificateInfo[] };
  elementChildren(descriptor, NS.metadata, 'KeyDescriptor').forEach((keyDescriptor, index) => {
    const label = `KeyDescriptor #${index + 1}`;
    const bodies = (select('./ds:KeyInfo/ds:X509Data/ds:X509Certificate', keyDescriptor) as Element[]).map((element) => (element.textContent ?? '').replace(/\s+/g, ''));
    if (bodies.length === 0) refuse(`${label} has no ds:X509Certificate (only X.509 certificates are supported)`);
    const use = keyDescriptor.getAttribute('use');
    const methodElements = use === 'signing' ? [] : elementChildren(keyDescriptor, NS.metadata, 'EncryptionMethod');
    const methods = methodElements.flatMap((element) => uriAttribute(element, 'Algorithm') ?? []);
    const digests = oaepDigestsWithoutSha1(methodElements);
    if (digests.length > 0) warnings.push(`${label}: the SP asks for RSA-OAEP key transport with ${digests.join(', ')}; Stepgate's encryption (samlify's xml-encryption) wraps the key with RSA-OAEP and SHA-1 only. An SP that refuses SHA-1 there cannot decrypt its assertions: sign in once to check, or register it with --no-encrypt`);
    for (const body of bodies) {
      const { stored, keyBits } = readCertificate(body, label);
      const info: CertificateInfo = { ...stored, ...(methods.length ? { encryptionMethods: methods } : {}) };
      if (Date.parse(info.notAfter) < now) warnings.push(`${label}: certificate ${info.subject} expired on ${info.notAfter}`);
      if (Date.parse(stored.notBefore) > now) warnings.push(`${label}: certificate ${info.subject} is not valid before ${stored.notBefore}`);
      if (keyBits < MIN_RSA_BITS) warnings.push(`${label}: certificate ${info.subject} has a ${keyBits}-bit RSA key; ${MIN_RSA_BITS} bits is the least considered safe`);
      (use === 'signing' ? out.signing : use === 'encryption' ? out.encryption : out.unqualified).push(info);
    }
  });
  return out;
}

/** What is stored of a certificate, and the key size its checks read besides. */
function readCertificate(body: string, label: string): { stored: CertificateInfo & { notBefore: string }; keyBits: number } {
  const pem = `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch (error) {
    return refuse(`${label}: the certificate cannot be parsed (${(error as Error).message})`);
  }
  if (certificate.publicKey.asymmetricKeyType !== 'rsa') refuse(`${label}: only RSA keys are supported, this one is ${certificate.publicKey.asymmetricKeyType}`);
  return {
    stored: {
      pem,
      subject: certificate.subject.replace(/\n/g, ', '),
      notAfter: new Date(certificate.validTo).toISOString(),
      notBefore: new Date(certificate.validFrom).toISOString(),
      fingerprint256: certificate.fingerprint256,
    },
    keyBits: certificate.publicKey.asymmetricKeyDetails?.modulusLength ?? 0,
  };
}

function readAcs(descriptor: Element, warnings: string[]): AcsEndpoint[] {
  const acs = elementChildren(descriptor, NS.metadata, 'AssertionConsumerService').map((element) => ({
    binding: uriAttribute(element, 'Binding', refuse)!,
    location: checkedUrl(uriAttribute(element, 'Location', refuse)!, 'AssertionConsumerService', warnings),
    index: Number(element.getAttribute('index')),
    ...(element.hasAttribute('isDefault') ? { isDefault: booleanAttribute(element, 'isDefault', refuse) } : {}),
  }));
  if (new Set(acs.map((endpoint) => endpoint.index)).size !== acs.length) refuse('two AssertionConsumerService elements have the same index');
  if (!acs.some((endpoint) => endpoint.binding === BINDING.post)) refuse(`no AssertionConsumerService with the HTTP-POST binding (${BINDING.post}); Stepgate sends responses by POST only`);
  return acs;
}

function readSlo(descriptor: Element, warnings: string[]): SloEndpoint[] {
  const out: SloEndpoint[] = [];
  for (const element of elementChildren(descriptor, NS.metadata, 'SingleLogoutService')) {
    const bindingUri = uriAttribute(element, 'Binding', refuse);
    const binding = (Object.keys(BINDING) as BindingName[]).find((name) => BINDING[name] === bindingUri);
    if (!binding) {
      warnings.push(`SingleLogoutService with binding ${bindingUri} ignored (only HTTP-Redirect and HTTP-POST are supported)`);
      continue;
    }
    const responseLocation = uriAttribute(element, 'ResponseLocation', refuse);
    out.push({
      binding,
      location: checkedUrl(uriAttribute(element, 'Location', refuse)!, 'SingleLogoutService', warnings),
      ...(responseLocation ? { responseLocation: checkedUrl(responseLocation, 'SingleLogoutService', warnings, 'ResponseLocation') } : {}),
    });
  }
  return out;
}

/** Endpoints become form actions and redirect targets: only absolute http(s) URLs, never javascript: or data:. */
function checkedUrl(value: string, what: string, warnings: string[], attribute: 'Location' | 'ResponseLocation' = 'Location'): string {
  const named = `${what} ${attribute}`;
  const inWarnings = attribute === 'Location' ? what : named;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return refuse(`${named} "${value}" is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') refuse(`${named} "${value}" must use https (or http)`);
  if (value.includes('#')) refuse(`${named} "${value}" has a fragment (#), which a browser never sends`);
  if (url.username || url.password) refuse(`${named} "${value}" contains credentials`);
  const canonical = canonicalFormIfDifferent(value);
  if (canonical) warnings.push(`${inWarnings} ${value} is written unusually (browsers use ${canonical}); it is kept as written, and requests must name it exactly so`);
  if (url.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) warnings.push(`${inWarnings} ${value} uses plain http: responses carrying user data would travel unencrypted`);
  return value;
}

function refuse(message: string): never {
  throw new AppError('METADATA_INVALID', { userMessage: `The metadata was refused: ${message.replace(/\.$/, '')}.`, detail: { reason: message } });
}
