import { z } from 'zod';
import { KEY_ALGORITHMS, openPrivateKey, sealPrivateKey, SIGNING_KEY_COLLECTION, type SigningKeyRecord } from '../keys/signing-keys.ts';
import { signingKeyProblems } from '../keys/key-material.ts';
import { timestampSchema, type RecordTransfer, type TransferContext } from './record-transfer.ts';

/** A key as the file holds it: the private key in clear (the file is encrypted), to be sealed with the importing installation's key. */
const exportedKeySchema = z.strictObject({
  id: z.string().min(1).max(128),
  alg: z.enum(KEY_ALGORITHMS),
  status: z.enum(['active', 'next', 'retired']),
  createdAt: timestampSchema,
  privateKeyPem: z.string().min(1),
  certificatePem: z.string().min(1).optional(),
});

export type ExportedKey = z.infer<typeof exportedKeySchema>;

export function signingKeyTransfer(context: TransferContext): RecordTransfer<ExportedKey, SigningKeyRecord> {
  const records = context.store.collection<SigningKeyRecord>(SIGNING_KEY_COLLECTION);
  return {
    noun: 'signing key',
    collection: SIGNING_KEY_COLLECTION,
    schema: exportedKeySchema,
    list: () => records.list(),
    exported(record) {
      const { sealedPrivateKeyPem: _sealed, ...rest } = record;
      return { ...rest, privateKeyPem: openPrivateKey(context.box, record) };
    },
    admit(key, replacing) {
      const problems = signingKeyProblems(key.alg, key.privateKeyPem, key.certificatePem);
      // A key id names one key pair for relying parties (the JWKS kid): another pair under the same id would confuse them and the server's key cache.
      if (replacing && (replacing.alg !== key.alg || openPrivateKey(context.box, replacing) !== key.privateKeyPem)) problems.push('this installation has a different key under the same id');
      if (problems.length) return { ok: false, problems };
      const { privateKeyPem, ...rest } = key;
      return { ok: true, record: { ...rest, sealedPrivateKeyPem: sealPrivateKey(context.box, privateKeyPem) }, warnings: [] };
    },
  };
}

/**
 * This installation's keys that the imported ones displace, as they will be stored: retired.
 *
 * Imported keys keep their status, so the imported IdP signs with the keys its relying parties
 * already trust and none of them needs a change. The keys here that signed (active) or waited to
 * sign (next) for the same algorithm are retired rather than refused: refusing would make every
 * import into a fresh installation fail (it made its own keys at first start), and a retired key
 * stays in the JWKS, so tokens it signed still verify until it is removed with `keys remove`.
 * Because SAML SPs that trust only this installation's certificate stop accepting its assertions,
 * the import asks for --replace before retiring anything.
 */
export function displacedKeys(here: readonly SigningKeyRecord[], imported: readonly SigningKeyRecord[]): SigningKeyRecord[] {
  const importedIds = new Set(imported.map((key) => key.id));
  return here
    .filter((key) => !importedIds.has(key.id) && key.status !== 'retired' && imported.some((other) => other.alg === key.alg && other.status === key.status))
    .map((key) => ({ ...key, status: 'retired' }));
}

/**
 * After an import, every algorithm it brings keys for must have exactly one key that signs and at
 * most one waiting: what signing and `keys activate` rely on.
 */
export function keyStatusProblems(imported: readonly SigningKeyRecord[], after: readonly SigningKeyRecord[]): string[] {
  const problems: string[] = [];
  for (const alg of KEY_ALGORITHMS.filter((candidate) => imported.some((key) => key.alg === candidate))) {
    const active = after.filter((key) => key.alg === alg && key.status === 'active').length;
    const next = after.filter((key) => key.alg === alg && key.status === 'next').length;
    if (active !== 1) problems.push(`signing keys: after the import there would be ${active} active ${alg} keys (exactly one must sign)`);
    if (next > 1) problems.push(`signing keys: after the import there would be ${next} ${alg} keys waiting to be activated (at most one)`);
  }
  return problems;
}
