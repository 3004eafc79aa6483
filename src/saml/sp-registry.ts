import type { Collection, Store } from '../store/store.ts';
import type { Clock } from '../core/clock.ts';
import { AppError } from '../core/errors.ts';
import { DEFAULT_SAML_ATTRIBUTES, type AttributeMapping } from '../rp/claims.ts';
import { NAMEID_FORMAT, type NameIdFormatName } from './constants.ts';
import { samlSchemas, type SamlSchemas } from './schema-validator.ts';
import { parseSpMetadata, type ParsedSpMetadata } from './sp-metadata.ts';
import { unreleasedAttributeWarnings, type RequiredAttribute } from './sp-requested-attributes.ts';
import { SP_COLLECTION, type CertificateInfo, type ServiceProviderRecord, type SignWhat, type SpSettings } from './sp-types.ts';
import { chooseEncryption } from './encryption-algorithms.ts';

export interface SpRegistrationOptions {
  name?: string;
  policy?: string;
  /** undefined: encrypt when the metadata has a use="encryption" KeyDescriptor. */
  encrypt?: boolean;
  /** undefined: the response always, the assertion too when the metadata says WantAssertionsSigned="true". */
  sign?: SignWhat;
  /** undefined: the first format the metadata lists that Stepgate supports, else persistent. */
  nameId?: NameIdFormatName;
  allowPasswordChange?: boolean;
}

export interface SpRegistration {
  record: ServiceProviderRecord;
  warnings: string[];
}

/** What `update` changes; what is not given stays as registered. */
export interface SpChange {
  settings?: Partial<SpSettings>;
  name?: string;
  /** New SAML metadata of the same SP: its endpoints and certificates replace the registered ones. */
  metadataXml?: string;
  /**
   * With new metadata that no longer says AuthnRequestsSigned="true": stop requiring signed requests.
   * Without it, an SP that had to sign keeps having to: a metadata document fetched from the SP (or
   * its mistake) must not switch a signature check off unnoticed.
   */
  allowUnsignedRequests?: boolean;
}

export interface SpUpdate {
  record: ServiceProviderRecord;
  /** The record as it was: what the administrator is told changed is told against it. */
  previous: ServiceProviderRecord;
  warnings: string[];
}

/** What a record holds from its metadata rather than from an administrator's choices. */
type FromMetadata = Pick<ServiceProviderRecord, 'metadataXml' | 'acs' | 'slo' | 'signingCertificates' | 'encryptionCertificate' | 'encryptionCertificates' | 'nameIdFormats'>;

/**
 * The one writer of the SP registry: validates metadata and settings, then stores. The CLI calls it
 * today and an admin console can call the same methods later.
 */
export class SpRegistry {
  readonly #records: Collection<ServiceProviderRecord>;
  readonly #schemas: SamlSchemas;
  readonly #clock: Clock;

  constructor(records: Collection<ServiceProviderRecord>, schemas: SamlSchemas, clock: Clock) {
    this.#records = records;
    this.#schemas = schemas;
    this.#clock = clock;
  }

  get(entityId: string): Promise<ServiceProviderRecord | undefined> {
    return this.#records.get(entityId);
  }

  async list(): Promise<ServiceProviderRecord[]> {
    return (await this.#records.list()).sort((a, b) => a.id.localeCompare(b.id));
  }

  remove(entityId: string): Promise<boolean> {
    return this.#records.remove(entityId);
  }

  /**
   * Validates metadata and options and returns the record that `add` would store; writes nothing.
   * `released`: the attribute release the SP will have, when not the default (an imported SP's).
   */
  check(metadataXml: string, options: SpRegistrationOptions = {}, released?: readonly AttributeMapping[]): SpRegistration {
    const now = this.#clock.now();
    const { metadata, warnings } = parseSpMetadata(metadataXml, this.#schemas, now);
    const fromMetadata = readFromMetadata(metadataXml, metadata, now);
    const encryptAssertions = options.encrypt ?? metadata.encryptionCertificates.length > 0;
    if (encryptAssertions && !fromMetadata.encryptionCertificate) refuse('--encrypt needs a KeyDescriptor with a certificate in the metadata');
    if (encryptAssertions) warnings.push(...encryptionWarnings(fromMetadata.encryptionCertificate!, 'registration'));
    const record: ServiceProviderRecord = {
      id: metadata.entityId,
      name: options.name?.trim() || defaultName(metadata.entityId),
      ...fromMetadata,
      settings: settingsFor(metadata, options, encryptAssertions),
      createdAt: now,
      updatedAt: now,
    };
    warnings.push(...unreleasedAttributeWarnings(metadata.requiredAttributes, released ?? record.settings.attributes));
    warnings.push(...unsignedAssertionWarnings(metadata.wantAssertionsSigned, record.settings));
    return { record, warnings };
  }

  /**
   * Validates an SP carried over from another installation (configuration import) as `check` does,
   * keeping the settings it had there; writes nothing. Everything read from the metadata (endpoints,
   * certificates) is read again here rather than trusted from the file.
   */
  checkTransferred(transferred: Pick<ServiceProviderRecord, 'id' | 'name' | 'metadataXml' | 'settings' | 'createdAt' | 'updatedAt'>): SpRegistration {
    const { settings } = transferred;
    if (!settings.wantAssertionsSigned && !settings.wantResponseSigned) refuse('the response or the assertion must be signed');
    const sign: SignWhat = !settings.wantAssertionsSigned ? 'response' : !settings.wantResponseSigned ? 'assertion' : 'both';
    const options = { name: transferred.name, policy: settings.policy, encrypt: settings.encryptAssertions, sign, nameId: settings.nameIdFormat, allowPasswordChange: settings.allowPasswordChange };
    const { record, warnings } = this.check(transferred.metadataXml, options, settings.attributes);
    if (record.id !== transferred.id) refuse(`the metadata is for entityID ${record.id}`);
    // Never weaker than the metadata asks: an SP that signs its requests expects them to be checked.
    const requireSignedRequests = record.settings.requireSignedRequests || settings.requireSignedRequests;
    return { record: { ...record, settings: { ...record.settings, attributes: settings.attributes, requireSignedRequests }, createdAt: transferred.createdAt, updatedAt: transferred.updatedAt }, warnings };
  }

  /**
   * Changes a registered SP in place: its settings (attribute release, signing, NameID ...), its
   * display name, and its metadata (a certificate rollover, moved endpoints), each only when given.
   * New metadata is validated as `add` validates it and must be for the same entityID; it replaces
   * the endpoints and certificates, and whether requests must be signed (AuthnRequestsSigned), and
   * keeps every setting an administrator chose. Refusals (METADATA_INVALID) and an unknown entityID
   * (RP_UNKNOWN) write nothing.
   */
  async update(entityId: string, change: SpChange): Promise<SpUpdate> {
    const previous = await this.#records.get(entityId);
    if (!previous) throw new AppError('RP_UNKNOWN', { detail: { protocol: 'saml', entityId } });
    const now = this.#clock.now();
    const { name, metadataXml } = change;
    if (name !== undefined && !name.trim()) refuse('the name must not be empty', 'change');
    const warnings: string[] = [];
    let fromMetadata: FromMetadata = previous;
    let settings = previous.settings;
    let requiredAttributes: RequiredAttribute[] | undefined;
    let parsedMetadata: ParsedSpMetadata | undefined;
    if (metadataXml !== undefined) {
      const parsed = parseSpMetadata(metadataXml, this.#schemas, now);
      parsedMetadata = parsed.metadata;
      requiredAttributes = parsed.metadata.requiredAttributes;
      if (parsed.metadata.entityId !== previous.id) refuse(`the metadata is for entityID ${parsed.metadata.entityId}, not ${previous.id}; an SP's entityID cannot change (sp add registers another SP)`, 'change');
      warnings.push(...parsed.warnings);
      fromMetadata = readFromMetadata(metadataXml, parsed.metadata, now);
      const keptRequired = previous.settings.requireSignedRequests && !parsed.metadata.authnRequestsSigned && change.allowUnsignedRequests !== true;
      if (keptRequired) warnings.push('the new metadata does not say AuthnRequestsSigned="true"; requests from this SP must still be signed (add --allow-unsigned-requests to accept unsigned ones)');
      // Kept, the requirement would refuse every request of an SP whose metadata has no certificate to check them with.
      if (keptRequired && fromMetadata.signingCertificates.length === 0) refuse('requests from this SP must be signed, and the new metadata has no signing certificate to check them with: every request would be refused; fix the metadata, or add --allow-unsigned-requests', 'change');
      // Raised, never lowered: an SP whose new metadata asks for signed assertions rejects unsigned ones.
      const signAssertions = parsed.metadata.wantAssertionsSigned && !settings.wantAssertionsSigned && change.settings?.wantAssertionsSigned === undefined;
      if (signAssertions) warnings.push('the new metadata says WantAssertionsSigned="true": assertions are signed from now on, as well as what was signed before');
      settings = { ...settings, requireSignedRequests: parsed.metadata.authnRequestsSigned || keptRequired, ...(signAssertions ? { wantAssertionsSigned: true } : {}) };
    }
    settings = { ...settings, ...change.settings };
    if (requiredAttributes) warnings.push(...unreleasedAttributeWarnings(requiredAttributes, settings.attributes));
    // Only when this change says what is signed (new metadata alone never lowers it, above).
    if (change.settings?.wantAssertionsSigned === false) warnings.push(...unsignedAssertionWarnings((parsedMetadata ?? parseSpMetadata(fromMetadata.metadataXml, this.#schemas, now).metadata).wantAssertionsSigned, settings));
    if (!settings.wantAssertionsSigned && !settings.wantResponseSigned) refuse('the response or the assertion must be signed', 'change');
    if (settings.encryptAssertions && !fromMetadata.encryptionCertificate) {
      refuse(previous.settings.encryptAssertions && metadataXml !== undefined ? "this SP's assertions are encrypted, and the new metadata has no certificate to encrypt them with; add --no-encrypt to send them unencrypted" : 'encryption needs a KeyDescriptor with a certificate in the metadata', 'change');
    }
    if (settings.encryptAssertions && (metadataXml !== undefined || !previous.settings.encryptAssertions)) warnings.push(...encryptionWarnings(fromMetadata.encryptionCertificate!, 'change'));
    const record: ServiceProviderRecord = {
      id: previous.id,
      name: name?.trim() || previous.name,
      metadataXml: fromMetadata.metadataXml,
      acs: fromMetadata.acs,
      slo: fromMetadata.slo,
      signingCertificates: fromMetadata.signingCertificates,
      ...(fromMetadata.encryptionCertificate ? { encryptionCertificate: fromMetadata.encryptionCertificate } : {}),
      ...(fromMetadata.encryptionCertificates ? { encryptionCertificates: fromMetadata.encryptionCertificates } : {}),
      nameIdFormats: fromMetadata.nameIdFormats,
      settings,
      createdAt: previous.createdAt,
      // updatedAt must move: cached samlify entities are keyed by it.
      updatedAt: Math.max(now, previous.updatedAt + 1),
    };
    await this.#records.put(record);
    return { record, previous, warnings };
  }

  /** Registers a new SP; an entityID that is already registered is refused (its metadata is replaced with `update`). */
  async add(metadataXml: string, options: SpRegistrationOptions = {}): Promise<SpRegistration> {
    const registration = this.check(metadataXml, options);
    if (await this.#records.get(registration.record.id)) {
      refuse(`an SP with entityID ${registration.record.id} is already registered; to load its new metadata and keep its settings, use sp set ${registration.record.id} --metadata <file or https URL>`);
    }
    const lookalike = (await this.list()).find((sp) => comparableEntityId(sp.id) === comparableEntityId(registration.record.id));
    // EntityIDs compare exactly (saml-core §8.3.6), so this is another SP; most often it is the same one registered twice by mistake.
    const warnings = lookalike ? [...registration.warnings, `another SP's entityID differs from this one only in case, port or a trailing slash: ${lookalike.id}; remove one if they are the same SP`] : registration.warnings;
    await this.#records.put(registration.record);
    return { ...registration, warnings };
  }
}

function readFromMetadata(metadataXml: string, metadata: ParsedSpMetadata, now: number): FromMetadata {
  // An unqualified KeyDescriptor may encrypt too, but only when an administrator turns encryption on.
  const encryptionCertificates = metadata.encryptionCertificates.length > 0 ? metadata.encryptionCertificates : metadata.unqualifiedCertificates;
  const encryptionCertificate = encryptionCertificateAt(encryptionCertificates, now);
  return {
    metadataXml,
    acs: metadata.acs,
    slo: metadata.slo,
    signingCertificates: metadata.signingCertificates,
    ...(encryptionCertificate ? { encryptionCertificate, encryptionCertificates } : {}),
    nameIdFormats: metadata.nameIdFormats,
  };
}

/**
 * Of the certificates an SP offers for encryption, the one to encrypt to: of those valid at `now`,
 * the one valid longest (during the SP's key rollover, most often its new one), so never an expired
 * certificate while a valid one is listed; when none is valid, the one that expires last. Ties go
 * to the one listed first.
 */
function encryptionCertificateAt(certificates: CertificateInfo[], now: number): CertificateInfo | undefined {
  const validNow = certificates.filter((certificate) => Date.parse(certificate.notAfter) >= now && !(certificate.notBefore && Date.parse(certificate.notBefore) > now));
  return expiringLast(validNow) ?? expiringLast(certificates);
}

function expiringLast(certificates: CertificateInfo[]): CertificateInfo | undefined {
  return certificates.reduce<CertificateInfo | undefined>((last, certificate) => (!last || Date.parse(certificate.notAfter) > Date.parse(last.notAfter) ? certificate : last), undefined);
}

/** An entityID as a person would read it: case, a default port and a trailing slash do not tell SPs apart. */
function comparableEntityId(entityId: string): string {
  let text = entityId.toLowerCase();
  try {
    text = new URL(entityId).href.toLowerCase();
  } catch {
    // a URN: compared in lower case
  }
  return text.replace(/\/+$/, '');
}

/**
 * An SP whose metadata says WantAssertionsSigned="true" refuses an assertion that is not signed
 * itself, whatever signs the Response around it: `--sign response` for it makes every sign-in fail there.
 */
function unsignedAssertionWarnings(metadataWantsSigned: boolean, settings: SpSettings): string[] {
  if (!metadataWantsSigned || settings.wantAssertionsSigned) return [];
  return ['the metadata says WantAssertionsSigned="true", and assertions are not signed for this SP (--sign response): it will most likely refuse every sign-in; use --sign both'];
}

/** Refuses encryption an SP could not decrypt (the algorithms its metadata lists); returns what to tell the administrator. */
function encryptionWarnings(certificate: CertificateInfo, during: 'registration' | 'change'): string[] {
  const choice = chooseEncryption(certificate.encryptionMethods);
  if (!choice.ok) refuse(`assertions cannot be encrypted for this SP: ${choice.problem}. Register it with --no-encrypt, or let the SP accept AES-GCM with RSA-OAEP`, during);
  return choice.warning ? [choice.warning] : [];
}

/** The registry over the store: the server, the CLI and tests all register through this. */
export function createSpRegistry(store: Store, clock: Clock, schemas: SamlSchemas = samlSchemas()): SpRegistry {
  return new SpRegistry(store.collection<ServiceProviderRecord>(SP_COLLECTION), schemas, clock);
}

function settingsFor(metadata: ParsedSpMetadata, options: SpRegistrationOptions, encryptAssertions: boolean): SpSettings {
  const sign = options.sign ?? (metadata.wantAssertionsSigned ? 'both' : 'response');
  const names = Object.keys(NAMEID_FORMAT) as NameIdFormatName[];
  const firstListed = metadata.nameIdFormats.map((uri) => names.find((name) => NAMEID_FORMAT[name] === uri)).find((name) => name !== undefined);
  const policy = options.policy?.trim();
  return {
    wantAssertionsSigned: sign !== 'response',
    wantResponseSigned: sign !== 'assertion',
    requireSignedRequests: metadata.authnRequestsSigned,
    encryptAssertions,
    nameIdFormat: options.nameId ?? firstListed ?? 'persistent',
    attributes: DEFAULT_SAML_ATTRIBUTES.map((mapping) => ({ ...mapping })),
    allowPasswordChange: options.allowPasswordChange ?? false,
    ...(policy ? { policy } : {}),
  };
}

function defaultName(entityId: string): string {
  try {
    return new URL(entityId).hostname || entityId;
  } catch {
    return entityId;
  }
}

function refuse(message: string, what: 'registration' | 'change' = 'registration'): never {
  throw new AppError('METADATA_INVALID', { userMessage: `The ${what} was refused: ${message.replace(/\.$/, '')}.`, detail: { reason: message } });
}
