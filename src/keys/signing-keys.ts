// @peculiar/x509 uses tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { webcrypto, createPrivateKey, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { Collection, Store } from '../store/store.ts';
import { SealedValueRejected, type SecretBox } from '../core/secret-box.ts';
import type { Clock } from '../core/clock.ts';
import { randomId } from '../core/ids.ts';
import { whyNotRemovableYet, type RetiredKeyHold } from './retired-key-hold.ts';

// Node and DOM lib typings of WebCrypto differ only nominally.
x509.cryptoProvider.set(webcrypto as never);

/** The algorithms Stepgate keeps a signing key for: one key of each signs at a time. */
export const KEY_ALGORITHMS = ['RS256', 'ES256'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** A signing key as stored: the private part sealed with the data key, never in clear on disk. */
export interface SigningKeyRecord {
  id: string;
  alg: KeyAlgorithm;
  /** active: signs now; next: published for rollover, not yet signing; retired: never signs, still in the JWKS (ID Tokens it signed stay verifiable) but no longer in the SAML metadata (a SAML response is checked as it arrives). */
  status: 'active' | 'next' | 'retired';
  createdAt: number;
  /** When it started signing here. Records of earlier versions have none. */
  activatedAt?: number;
  /** When it stopped signing here (retired): `keys remove` waits until nothing it signed is still presented. Records of earlier versions have none. */
  retiredAt?: number;
  /** Made by Stepgate at a start because no key of its algorithm signed, not chosen by an admin: an imported configuration may put its own key in its place. */
  generatedAtStart?: true;
  sealedPrivateKeyPem: string;
  /** Self-signed certificate, for SAML metadata (RS256 keys only). */
  certificatePem?: string;
}

export interface LoadedKey {
  id: string;
  alg: KeyAlgorithm;
  status: SigningKeyRecord['status'];
  createdAt: number;
  activatedAt?: number;
  retiredAt?: number;
  privateKeyPem: string;
  certificatePem?: string;
  notAfter?: Date;
}

export const SIGNING_KEY_COLLECTION = 'signing-keys';

/**
 * A key `keys remove` took out of the JWKS (often because it was exposed), kept by id: an import of
 * an export made before the removal would otherwise publish it again without a word.
 */
export interface RemovedSigningKey {
  id: string;
  alg: KeyAlgorithm;
  removedAt: number;
  /** When `config import --restore-removed-keys` published it again: the admin's word, so no start warns of it (see removed-key-published.ts). */
  restoredAt?: number;
}

export const REMOVED_SIGNING_KEY_COLLECTION = 'removed-signing-keys';

/** The keys this installation removed, by id (see RemovedSigningKey). */
export function removedSigningKeys(store: Store): Collection<RemovedSigningKey> {
  return store.collection<RemovedSigningKey>(REMOVED_SIGNING_KEY_COLLECTION);
}
const PURPOSE = 'signing-key';
const CERT_YEARS = 10;
/** How often a running server looks for keys the admin CLI added, activated or removed. */
const RELOAD_CHECK_MS = 1000;

/** A private key as stored: sealed with the data key. */
export function sealPrivateKey(box: SecretBox, privateKeyPem: string): string {
  return box.seal(privateKeyPem, PURPOSE);
}

/** The clear private key of a stored record: for signing, and for the (encrypted) configuration export. */
export function openPrivateKey(box: SecretBox, record: SigningKeyRecord): string {
  return box.openText(record.sealedPrivateKeyPem, PURPOSE);
}

/** A refusal of a key operation, worded for the admin. */
export class KeyRotationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyRotationError';
  }
}

/** The server's and the CLI's way to the keys: one collection, certificates named after the public host. */
export function signingKeys(store: Store, box: SecretBox, clock: Clock, publicUrl: string): SigningKeys {
  return new SigningKeys(store.collection<SigningKeyRecord>(SIGNING_KEY_COLLECTION), box, clock, new URL(publicUrl).hostname);
}

/** The one source of signing keys for both protocols; generated on first start, persisted sealed. */
export class SigningKeys {
  readonly #records: Collection<SigningKeyRecord>;
  readonly #box: SecretBox;
  readonly #clock: Clock;
  readonly #subject: string;
  #cache: LoadedKey[] | undefined;
  #checkedAt = 0;
  /** Changes whenever the set of keys or a status changes: consumers that built something from the keys rebuild it. */
  #version = 0;

  constructor(records: Collection<SigningKeyRecord>, box: SecretBox, clock: Clock, subjectCommonName: string) {
    this.#records = records;
    this.#box = box;
    this.#clock = clock;
    this.#subject = subjectCommonName;
  }

  /** Makes sure an active RS256 (with certificate) and an active ES256 key exist. */
  async ensure(): Promise<{ generated: KeyAlgorithm[] }> {
    const existing = await this.#records.list();
    const generated: KeyAlgorithm[] = [];
    for (const alg of KEY_ALGORITHMS) {
      if (!existing.some((record) => record.alg === alg && record.status === 'active')) {
        const record = await this.generate(alg, 'active');
        await this.#records.put({ ...record, activatedAt: record.createdAt, generatedAtStart: true });
        generated.push(alg);
      }
    }
    this.#cache = undefined;
    return { generated };
  }

  /**
   * Whether the box opens the newest stored key; true when none is stored yet. The first sealed
   * value start-up opens: only AES-GCM's refusal counts, any other failure is thrown as it is.
   */
  async opensWithBox(): Promise<boolean> {
    const [newest] = (await this.#records.list()).sort((a, b) => b.createdAt - a.createdAt);
    if (!newest) return true;
    try {
      openPrivateKey(this.#box, newest);
      return true;
    } catch (error) {
      if (error instanceof SealedValueRejected) return false;
      throw error;
    }
  }

  async generate(alg: KeyAlgorithm, status: SigningKeyRecord['status']): Promise<SigningKeyRecord> {
    const params = alg === 'RS256' ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 } : { name: 'ECDSA', namedCurve: 'P-256' };
    const keys = (await webcrypto.subtle.generateKey(params, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    const privateKeyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
    let certificatePem: string | undefined;
    if (alg === 'RS256') {
      const now = new Date(this.#clock.now());
      const certificate = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: Buffer.from(randomId(12), 'base64url').toString('hex'),
        name: `CN=${this.#subject}`,
        notBefore: new Date(now.getTime() - 60_000),
        notAfter: new Date(now.getFullYear() + CERT_YEARS, now.getMonth(), now.getDate()),
        keys: keys as never,
        signingAlgorithm: params,
        // RFC 5280 §4.1 allows no empty extension list: an end-entity certificate that only signs (SAML messages, metadata).
        extensions: [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
      });
      certificatePem = certificate.toString('pem');
    }
    return { id: randomId(12), alg, status, createdAt: this.#clock.now(), sealedPrivateKeyPem: sealPrivateKey(this.#box, privateKeyPem), certificatePem };
  }

  /**
   * Every key, newest first. Re-read at most once a second, so a rotation made with the CLI reaches a
   * running server; an unchanged key keeps its object (and whatever callers parsed from it).
   */
  async all(): Promise<LoadedKey[]> {
    const now = this.#clock.now();
    if (!this.#cache || now - this.#checkedAt >= RELOAD_CHECK_MS) {
      this.#checkedAt = now;
      const records = (await this.#records.list()).sort((a, b) => b.createdAt - a.createdAt);
      const previous = new Map((this.#cache ?? []).map((key) => [key.id, key]));
      const loaded = records.map((record) => {
        const known = previous.get(record.id);
        if (known && known.status === record.status) return known;
        return {
          id: record.id,
          alg: record.alg,
          status: record.status,
          createdAt: record.createdAt,
          activatedAt: record.activatedAt,
          retiredAt: record.retiredAt,
          privateKeyPem: known?.privateKeyPem ?? openPrivateKey(this.#box, record),
          certificatePem: record.certificatePem,
          notAfter: record.certificatePem ? new Date(new X509Certificate(record.certificatePem).validTo) : undefined,
        };
      });
      const changed = !this.#cache || loaded.length !== this.#cache.length || loaded.some((key, index) => key !== this.#cache![index]);
      if (changed) {
        this.#cache = loaded;
        this.#version += 1;
      }
    }
    return this.#cache!;
  }

  /** See `#version`; reading it refreshes the keys first. */
  async version(): Promise<number> {
    await this.all();
    return this.#version;
  }

  /** Rotation, step 1: a new key published (JWKS, SAML metadata) but not signing yet, so relying parties learn it first. */
  async addNext(alg: KeyAlgorithm): Promise<SigningKeyRecord> {
    const records = await this.#records.list();
    const waiting = records.find((record) => record.alg === alg && record.status === 'next');
    if (waiting) throw new KeyRotationError(`an ${alg} key is already waiting to be activated: ${waiting.id}`);
    const record = await this.generate(alg, 'next');
    await this.#records.put(record);
    this.#cache = undefined;
    return record;
  }

  /**
   * Rotation, step 2: the waiting key signs from now on; the one it replaces stays published (retired) for
   * tokens it signed. Each status changes only from the one it was read with, checked under the file's
   * lock: of two activations at once (two CLI processes), the one that retires the active key wins, and
   * the other puts its key back to waiting, rather than leave two active keys neither of which could be removed.
   */
  async activate(id: string): Promise<{ activated: SigningKeyRecord; retired?: SigningKeyRecord }> {
    const records = await this.#records.list();
    const next = records.find((record) => record.id === id);
    if (!next) throw new KeyRotationError(`no signing key ${id}`);
    if (next.status !== 'next') throw new KeyRotationError(`key ${id} is ${next.status}; only a key added with "keys add" (status next) can be activated`);
    const current = records.find((record) => record.alg === next.alg && record.status === 'active');
    // The new key first: were the second write to fail, two active keys are harmless (the newest signs), none is not.
    const now = this.#clock.now();
    const activated = await this.#changeStatus(id, 'next', { status: 'active', activatedAt: now });
    this.#cache = undefined;
    if (!current) return { activated };
    try {
      return { activated, retired: await this.#changeStatus(current.id, 'active', { status: 'retired', retiredAt: now }) };
    } catch (error) {
      if (!(error instanceof KeyRotationError)) throw error;
      await this.#records.update(id, (record) => {
        if (record.status !== 'active') return record;
        const { activatedAt: _undone, ...waiting } = record;
        return { ...waiting, status: 'next' };
      });
      throw new KeyRotationError(`${current.id} is no longer the active ${next.alg} key: another key was activated at the same time (see "keys list"). ${id} is waiting again (next)`);
    }
  }

  /** Changes a key's status only if it still has the one it was read with: another command may have changed it since. */
  async #changeStatus(id: string, from: SigningKeyRecord['status'], to: Pick<SigningKeyRecord, 'status' | 'activatedAt' | 'retiredAt'>): Promise<SigningKeyRecord> {
    let changed: SigningKeyRecord | undefined;
    const found = await this.#records.update(id, (record) => {
      if (record.status !== from) throw new KeyRotationError(`key ${id} is ${record.status} now, no longer ${from}: another command changed it meanwhile`);
      changed = { ...record, ...to };
      return changed;
    });
    if (!found || !changed) throw new KeyRotationError(`no signing key ${id}`);
    return changed;
  }

  /**
   * Rotation, step 4: a retired key is no longer published, once nothing it signed can still be
   * presented (`removal.hold`), or earlier when the admin forces it (`forced` then says so). A waiting
   * key (next) can be withdrawn at any time: it never signed. It is retired first, under the file's
   * lock, so of an activation at the same moment and the removal only one succeeds.
   */
  async remove(id: string, removal: { hold: RetiredKeyHold; force: boolean; removedKeys: Collection<RemovedSigningKey> }): Promise<{ removed: SigningKeyRecord; forced: boolean }> {
    const record = await this.#records.get(id);
    if (!record) throw new KeyRotationError(`no signing key ${id}`);
    if (record.status === 'active') throw new KeyRotationError(`key ${id} is active; only a retired key, or a waiting one (next), can be removed`);
    const tooEarly = record.status === 'retired' ? whyNotRemovableYet(record, removal.hold, this.#clock.now()) : undefined;
    if (tooEarly && !removal.force) throw new KeyRotationError(tooEarly);
    if (record.status === 'next') await this.#changeStatus(id, 'next', { status: 'retired', retiredAt: this.#clock.now() });
    // Remembered first: a removal that stopped in between must not leave a key that an import brings back unasked.
    await removal.removedKeys.put({ id, alg: record.alg, removedAt: this.#clock.now() });
    await this.#records.remove(id);
    this.#cache = undefined;
    return { removed: record, forced: tooEarly !== undefined };
  }

  /** The key that signs now for an algorithm. */
  async active(alg: KeyAlgorithm): Promise<LoadedKey> {
    const key = (await this.all()).find((candidate) => candidate.alg === alg && candidate.status === 'active');
    if (!key) throw new Error(`no active ${alg} signing key; run start-up key generation`);
    return key;
  }

  /** Private JWKs for oidc-provider: active keys first (they sign), then next/retired (published for verification). */
  async privateJwks(): Promise<Array<Record<string, unknown>>> {
    const order = { active: 0, next: 1, retired: 2 } as const;
    return (await this.all())
      .slice()
      .sort((a, b) => order[a.status] - order[b.status])
      .map((key) => ({ ...createPrivateKey(key.privateKeyPem).export({ format: 'jwk' }), kid: key.id, alg: key.alg, use: 'sig' }));
  }

  /** Certificates to publish in SAML metadata: the active one and any rollover one. */
  async samlCertificates(): Promise<string[]> {
    return (await this.all()).filter((key) => key.alg === 'RS256' && key.status !== 'retired' && key.certificatePem).map((key) => key.certificatePem!);
  }
}
