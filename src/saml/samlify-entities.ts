import samlify from 'samlify';
import { ALGORITHM, BINDING, NAMEID_FORMAT } from './constants.ts';
import { certificateBody, type IdpEndpoints, type IdpSigner } from './idp-identity.ts';
import type { ServiceProviderRecord } from './sp-types.ts';
import { DEFAULT_ENCRYPTION, type EncryptionAlgorithms } from './encryption-algorithms.ts';

type IdentityProvider = ReturnType<typeof samlify.IdentityProvider>;
type ServiceProvider = ReturnType<typeof samlify.ServiceProvider>;
type IdentityProviderSettings = Parameters<typeof samlify.IdentityProvider>[0];

/**
 * samlify entity objects, built once per signing key and per SP record version (building one parses
 * metadata XML, too slow for every request). samlify reads from them the SP's encryption certificate
 * and our algorithms when encrypting.
 */
export class SamlifyEntities {
  readonly #endpoints: IdpEndpoints;
  /** By signing key and encryption algorithms (samlify reads the algorithms from the IdP entity). */
  readonly #idps = new Map<string, IdentityProvider>();
  readonly #sps = new Map<string, { updatedAt: number; entity: ServiceProvider }>();

  constructor(endpoints: IdpEndpoints) {
    this.#endpoints = endpoints;
  }

  idp(signer: IdpSigner, encryption: EncryptionAlgorithms = DEFAULT_ENCRYPTION): IdentityProvider {
    const key = `${signer.keyId} ${encryption.data} ${encryption.key}`;
    let entity = this.#idps.get(key);
    if (!entity) {
      const settings = {
        entityID: this.#endpoints.entityId,
        signingCert: signer.certificateBody,
        requestSignatureAlgorithm: ALGORITHM.rsaSha256,
        nameIDFormat: Object.values(NAMEID_FORMAT),
        singleSignOnService: Object.values(BINDING).map((Binding) => ({ Binding, Location: this.#endpoints.sso })),
        singleLogoutService: Object.values(BINDING).map((Binding) => ({ Binding, Location: this.#endpoints.slo })),
        // Encryption happens only for SPs whose settings ask for it; this entity is only the source of these settings.
        isAssertionEncrypted: true,
        // The SP's choice among what Stepgate allows (encryption-algorithms.ts), never samlify's CBC default.
        dataEncryptionAlgorithm: encryption.data,
        keyEncryptionAlgorithm: encryption.key,
      };
      entity = samlify.IdentityProvider(settings as IdentityProviderSettings);
      // Keys rotate rarely; entities of a retired key are dropped.
      for (const old of this.#idps.keys()) if (!old.startsWith(`${signer.keyId} `)) this.#idps.delete(old);
      this.#idps.set(key, entity);
    }
    return entity;
  }

  sp(record: ServiceProviderRecord): ServiceProvider {
    const cached = this.#sps.get(record.id);
    if (cached?.updatedAt === record.updatedAt) return cached.entity;
    const entity = samlify.ServiceProvider({
      entityID: record.id,
      signingCert: record.signingCertificates.map((certificate) => certificateBody(certificate.pem)),
      ...(record.encryptionCertificate ? { encryptCert: certificateBody(record.encryptionCertificate.pem) } : {}),
      assertionConsumerService: record.acs.map((endpoint) => ({ Binding: endpoint.binding, Location: endpoint.location })),
    });
    this.#sps.set(record.id, { updatedAt: record.updatedAt, entity });
    return entity;
  }
}
