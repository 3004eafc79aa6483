// @peculiar/x509 uses tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { webcrypto, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { Collection } from '../store/store.ts';
import type { SecretBox } from '../core/secret-box.ts';
import type { Clock } from '../core/clock.ts';
import { randomId } from '../core/ids.ts';

// Node and DOM lib typings of WebCrypto differ only nominally.
x509.cryptoProvider.set(webcrypto as never);

export type KeyAlgorithm = 'RS256' | 'ES256';

/** A signing key as stored: the private part sealed with the data key, never in clear on disk. */
export interface SigningKeyRecord {
  id: string;
  alg: KeyAlgorithm;
  /** active: signs now; next: published for rollover, not yet signing; retired: still published, never signs. */
  status: 'active' | 'next' | 'retired';
  createdAt: number;
  sealedPrivateKeyPem: string;
  /** Self-signed certificate, for SAML metadata (RS256 keys only). */
  certificatePem?: string;
}

export interface LoadedKey {
  id: string;
  alg: KeyAlgorithm;
  status: SigningKeyRecord['status'];
  privateKeyPem: string;
  certificatePem?: string;
  notAfter?: Date;
}

const PURPOSE = 'signing-key';
const CERT_YEARS = 10;

/** The one source of signing keys for both protocols; generated on first start, persisted sealed. */
export class SigningKeys {
  readonly #records: Collection<SigningKeyRecord>;
  readonly #box: SecretBox;
  readonly #clock: Clock;
  readonly #subject: string;
  #cache: LoadedKey[] | undefined;

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
    for (const alg of ['RS256', 'ES256'] as const) {
      if (!existing.some((record) => record.alg === alg && record.status === 'active')) {
        await this.#records.put(await this.generate(alg, 'active'));
        generated.push(alg);
      }
    }
    this.#cache = undefined;
    return { generated };
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
      });
      certificatePem = certificate.toString('pem');
    }
    return { id: randomId(12), alg, status, createdAt: this.#clock.now(), sealedPrivateKeyPem: this.#box.seal(privateKeyPem, PURPOSE), certificatePem };
  }

  async all(): Promise<LoadedKey[]> {
    if (!this.#cache) {
      const records = (await this.#records.list()).sort((a, b) => b.createdAt - a.createdAt);
      this.#cache = records.map((record) => ({
        id: record.id,
        alg: record.alg,
        status: record.status,
        privateKeyPem: this.#box.openText(record.sealedPrivateKeyPem, PURPOSE),
        certificatePem: record.certificatePem,
        notAfter: record.certificatePem ? new Date(new X509Certificate(record.certificatePem).validTo) : undefined,
      }));
    }
    return this.#cache;
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
