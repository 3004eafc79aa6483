import type { AttributeMapping } from '../rp/claims.ts';
import type { BindingName, NameIdFormatName } from './constants.ts';

/** Store collection holding the SP registry: the only source of trusted SPs (metadata/sp holds samples). */
export const SP_COLLECTION = 'saml-service-providers';

export interface AcsEndpoint {
  binding: string;
  location: string;
  index: number;
  isDefault?: boolean;
}

export interface SloEndpoint {
  binding: BindingName;
  location: string;
  /** Where LogoutResponses go when it differs from `location`. */
  responseLocation?: string;
}

export interface CertificateInfo {
  pem: string;
  subject: string;
  /** ISO 8601. */
  notAfter: string;
  /** ISO 8601; absent in records registered before it was kept (read as valid since issued). */
  notBefore?: string;
  fingerprint256: string;
  /** The EncryptionMethod algorithms of its KeyDescriptor: what the SP can decrypt (absent or empty: it states no limit). */
  encryptionMethods?: string[];
}

export type SignWhat = 'response' | 'assertion' | 'both';

export interface SpSettings {
  wantAssertionsSigned: boolean;
  wantResponseSigned: boolean;
  /** AuthnRequests and LogoutRequests without a valid signature are refused. */
  requireSignedRequests: boolean;
  encryptAssertions: boolean;
  /** Used when the request names no NameID format (or "unspecified"), and for IdP-initiated sign-in. */
  nameIdFormat: NameIdFormatName;
  attributes: AttributeMapping[];
  allowPasswordChange: boolean;
  policy?: string;
}

/** One registered SAML service provider, keyed by its entityID. */
export interface ServiceProviderRecord {
  id: string;
  name: string;
  metadataXml: string;
  acs: AcsEndpoint[];
  slo: SloEndpoint[];
  signingCertificates: CertificateInfo[];
  /** The certificate assertions are encrypted to: of `encryptionCertificates`, the one valid longest when the metadata was read. */
  encryptionCertificate?: CertificateInfo;
  /**
   * Every certificate the metadata offers for encryption (use="encryption", else the unqualified
   * ones), as listed; an SP rolling its encryption key over lists two. Absent in records registered
   * before it was kept.
   */
  encryptionCertificates?: CertificateInfo[];
  /** NameIDFormat elements of the metadata, as published. */
  nameIdFormats: string[];
  settings: SpSettings;
  createdAt: number;
  updatedAt: number;
}
