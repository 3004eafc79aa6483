import { randomUUID } from 'node:crypto';
import samlify from 'samlify';
import type { SigningKeys } from '../keys/signing-keys.ts';
import type { Clock } from '../core/clock.ts';
import { activeSigner, type IdpEndpoints, type IdpSigner } from './idp-identity.ts';
import type { SamlifyEntities } from './samlify-entities.ts';
import { chooseEncryption, DEFAULT_ENCRYPTION } from './encryption-algorithms.ts';
import { signXml } from './xml-sign.ts';
import { signCanonical } from './canonical-signature.ts';
import { statusResponseXml, successResponseXml, type AssertionContent, type MessageHeader, type SamlStatus } from './response-xml.ts';
import type { ServiceProviderRecord } from './sp-types.ts';

export interface ResponseBuilderDeps {
  keys: SigningKeys;
  entities: SamlifyEntities;
  endpoints: IdpEndpoints;
  clock: Clock;
  assertionLifetimeSeconds: number;
}

export interface ResponseTarget {
  sp: ServiceProviderRecord;
  acsUrl: string;
  /** The AuthnRequest ID; absent for IdP-initiated (unsolicited) responses. */
  inResponseTo?: string;
}

/** Identifiers must start with a letter or underscore (xs:ID). */
export function newMessageId(): string {
  return `_${randomUUID()}`;
}

/**
 * Builds SAMLResponses for one SP's settings: assertion signed → assertion encrypted → response
 * signed. Signing the response last means its signature also covers the EncryptedAssertion, and
 * each signature is computed exactly once per response.
 */
export class ResponseBuilder {
  readonly #deps: ResponseBuilderDeps;

  constructor(deps: ResponseBuilderDeps) {
    this.#deps = deps;
  }

  /** Base64 SAMLResponse carrying the assertion. */
  async success(target: ResponseTarget, assertion: Omit<AssertionContent, 'id' | 'audience' | 'notOnOrAfter'>): Promise<string> {
    const { sp } = target;
    const signer = await activeSigner(this.#deps.keys);
    const header = this.#header(target);
    const notOnOrAfter = new Date(header.issueInstant.getTime() + this.#deps.assertionLifetimeSeconds * 1000);
    let xml = successResponseXml(header, { ...assertion, id: newMessageId(), audience: sp.id, notOnOrAfter });
    if (sp.settings.wantAssertionsSigned) xml = await signCanonical(xml, 'Assertion', signer);
    if (sp.settings.encryptAssertions) {
      xml = await this.#encrypt(xml, sp, signer);
      // The EncryptedAssertion is xml-encryption's text, not ours in canonical form: sign through a DOM.
      if (sp.settings.wantResponseSigned) xml = await signXml(xml, 'Response', signer);
    } else if (sp.settings.wantResponseSigned) xml = await signCanonical(xml, 'Response', signer);
    return Buffer.from(xml, 'utf8').toString('base64');
  }

  /** Base64 SAMLResponse with an error status and no assertion; always signed (it speaks for the IdP). */
  async status(target: ResponseTarget, status: SamlStatus): Promise<string> {
    const signer = await activeSigner(this.#deps.keys);
    return Buffer.from(await signCanonical(statusResponseXml(this.#header(target), status), 'Response', signer), 'utf8').toString('base64');
  }

  #header(target: ResponseTarget): MessageHeader {
    return { id: newMessageId(), issueInstant: new Date(this.#deps.clock.now()), issuer: this.#deps.endpoints.entityId, destination: target.acsUrl, inResponseTo: target.inResponseTo };
  }

  async #encrypt(xml: string, sp: ServiceProviderRecord, signer: IdpSigner): Promise<string> {
    const { entities } = this.#deps;
    // Registration refused algorithms the SP could not decrypt; a record from before that check gets the defaults.
    const choice = chooseEncryption(sp.encryptionCertificate?.encryptionMethods);
    const encrypted = await samlify.SamlLib.encryptAssertion(entities.idp(signer, choice.ok ? choice.algorithms : DEFAULT_ENCRYPTION), entities.sp(sp), xml);
    return Buffer.from(encrypted, 'base64').toString('utf8');
  }
}
