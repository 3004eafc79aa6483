import { createHash } from 'node:crypto';
import type { SigningKeys } from '../keys/signing-keys.ts';
import { BINDING, NAMEID_FORMAT, NS, PROTOCOL_SUPPORT } from './constants.ts';
import { activeSigner, certificateBody, type IdpEndpoints } from './idp-identity.ts';
import { attributeValue } from './canonical-xml.ts';
import { signXml } from './xml-sign.ts';

/**
 * The IdP's signed metadata. Built and signed once per key set (active key + published
 * certificates) and served from memory; a key rollover changes the set and so the document.
 */
export class IdpMetadata {
  readonly #keys: SigningKeys;
  readonly #endpoints: IdpEndpoints;
  readonly #wantAuthnRequestsSigned: boolean;
  #cached: { keySet: string; xml: string } | undefined;

  constructor(keys: SigningKeys, endpoints: IdpEndpoints, wantAuthnRequestsSigned: boolean) {
    this.#keys = keys;
    this.#endpoints = endpoints;
    this.#wantAuthnRequestsSigned = wantAuthnRequestsSigned;
  }

  async xml(): Promise<string> {
    const signer = await activeSigner(this.#keys);
    // Every published certificate (active and rollover), so SPs trust the next key before it signs.
    const certificates = (await this.#keys.samlCertificates()).map(certificateBody);
    const keySet = [signer.keyId, ...certificates].join('|');
    if (this.#cached?.keySet !== keySet) {
      const id = `_${createHash('sha256').update(keySet).digest('hex').slice(0, 40)}`;
      this.#cached = { keySet, xml: await signXml(metadataXml(id, this.#endpoints, certificates, this.#wantAuthnRequestsSigned), 'EntityDescriptor', signer) };
    }
    return this.#cached.xml;
  }
}

function metadataXml(id: string, endpoints: IdpEndpoints, certificates: string[], wantAuthnRequestsSigned: boolean): string {
  const services = (element: string, location: string) =>
    Object.values(BINDING).map((binding) => `<md:${element} Binding="${binding}" Location="${attributeValue(location)}"/>`).join('');
  const keys = certificates
    .map((body) => `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`)
    .join('');
  // Element order follows the schema: KeyDescriptor, SingleLogoutService, NameIDFormat, SingleSignOnService.
  return `<md:EntityDescriptor xmlns:md="${NS.metadata}" xmlns:ds="${NS.dsig}" ID="${id}" entityID="${attributeValue(endpoints.entityId)}">`
    + `<md:IDPSSODescriptor WantAuthnRequestsSigned="${wantAuthnRequestsSigned}" protocolSupportEnumeration="${PROTOCOL_SUPPORT}">`
    + keys
    + services('SingleLogoutService', endpoints.slo)
    + Object.values(NAMEID_FORMAT).map((format) => `<md:NameIDFormat>${format}</md:NameIDFormat>`).join('')
    + services('SingleSignOnService', endpoints.sso)
    + '</md:IDPSSODescriptor></md:EntityDescriptor>';
}
