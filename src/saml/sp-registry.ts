import type { Collection, Store } from '../store/store.ts';
import type { Clock } from '../core/clock.ts';
import { AppError } from '../core/errors.ts';
import { DEFAULT_SAML_ATTRIBUTES } from '../rp/claims.ts';
import { NAMEID_FORMAT, type NameIdFormatName } from './constants.ts';
import { samlSchemas, type SamlSchemas } from './schema-validator.ts';
import { parseSpMetadata, type ParsedSpMetadata } from './sp-metadata.ts';
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

  /** Validates metadata and options and returns the record that `add` would store; writes nothing. */
  check(metadataXml: string, options: SpRegistrationOptions = {}): SpRegistration {
    const now = this.#clock.now();
    const { metadata, warnings } = parseSpMetadata(metadataXml, this.#schemas, now);
    // An unqualified KeyDescriptor may encrypt too, but only when an administrator turns encryption on.
    const encryptionCertificate = metadata.encryptionCertificates[0] ?? metadata.unqualifiedCertificates[0];
    const encryptAssertions = options.encrypt ?? metadata.encryptionCertificates.length > 0;
    if (encryptAssertions && !encryptionCertificate) refuse('--encrypt needs a KeyDescriptor with a certificate in the metadata');
    if (encryptAssertions) warnings.push(...encryptionWarnings(encryptionCertificate!, 'registration'));
    const record: ServiceProviderRecord = {
      id: metadata.entityId,
      name: options.name?.trim() || defaultName(metadata.entityId),
      metadataXml,
      acs: metadata.acs,
      slo: metadata.slo,
      signingCertificates: metadata.signingCertificates,
      ...(encryptionCertificate ? { encryptionCertificate } : {}),
      nameIdFormats: metadata.nameIdFormats,
      settings: settingsFor(metadata, options, encryptAssertions),
      createdAt: now,
      updatedAt: now,
    };
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
    const { record, warnings } = this.check(transferred.metadataXml, options);
    if (record.id !== transferred.id) refuse(`the metadata is for entityID ${record.id}`);
    // Never weaker than the metadata asks: an SP that signs its requests expects them to be checked.
    const requireSignedRequests = record.settings.requireSignedRequests || settings.requireSignedRequests;
    return { record: { ...record, settings: { ...record.settings, attributes: settings.attributes, requireSignedRequests }, createdAt: transferred.createdAt, updatedAt: transferred.updatedAt }, warnings };
  }

  /**
   * Changes an SP's settings (attribute release, signing, NameID ...) and, when given, its display name;
   * its metadata stays as registered. Refusals (METADATA_INVALID) and an unknown entityID (RP_UNKNOWN) write nothing.
   */
  async updateSettings(entityId: string, changes: Partial<SpSettings>, name?: string): Promise<ServiceProviderRecord> {
    const record = await this.#records.get(entityId);
    if (!record) throw new AppError('RP_UNKNOWN', { detail: { protocol: 'saml', entityId } });
    const settings = { ...record.settings, ...changes };
    if (name !== undefined && !name.trim()) refuse('the name must not be empty', 'change');
    if (!settings.wantAssertionsSigned && !settings.wantResponseSigned) refuse('the response or the assertion must be signed', 'change');
    if (settings.encryptAssertions && !record.encryptionCertificate) refuse('encryption needs a KeyDescriptor with a certificate in the metadata', 'change');
    if (settings.encryptAssertions && !record.settings.encryptAssertions) encryptionWarnings(record.encryptionCertificate!, 'change');
    // updatedAt must move: cached samlify entities are keyed by it.
    const updated = { ...record, name: name?.trim() || record.name, settings, updatedAt: Math.max(this.#clock.now(), record.updatedAt + 1) };
    await this.#records.put(updated);
    return updated;
  }

  /** Registers a new SP; an entityID that is already registered is refused (remove it first). */
  async add(metadataXml: string, options: SpRegistrationOptions = {}): Promise<SpRegistration> {
    const registration = this.check(metadataXml, options);
    if (await this.#records.get(registration.record.id)) refuse(`an SP with entityID ${registration.record.id} is already registered; remove it first`);
    const lookalike = (await this.list()).find((sp) => comparableEntityId(sp.id) === comparableEntityId(registration.record.id));
    // EntityIDs compare exactly (saml-core §8.3.6), so this is another SP; most often it is the same one registered twice by mistake.
    const warnings = lookalike ? [...registration.warnings, `another SP's entityID differs from this one only in case, port or a trailing slash: ${lookalike.id}; remove one if they are the same SP`] : registration.warnings;
    await this.#records.put(registration.record);
    return { ...registration, warnings };
  }
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
