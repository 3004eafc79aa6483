import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { KEY_ALGORITHMS, openPrivateKey, sealPrivateKey, SIGNING_KEY_COLLECTION, type KeyAlgorithm, type SigningKeyRecord } from '../keys/signing-keys.ts';
import { signingKeyProblems } from '../keys/key-material.ts';
import { certificateConcern, CERTIFICATE_WARNING_DAYS } from '../keys/certificate-expiry.ts';
import { utcMinuteWithZone } from '../core/utc-minute.ts';
import { timestampSchema, type RecordTransfer, type TransferContext } from './record-transfer.ts';

type KeyStatus = SigningKeyRecord['status'];

/** A key as the file holds it: the private key in clear (the file is encrypted), to be sealed with the importing installation's key. */
const exportedKeySchema = z.strictObject({
  id: z.string().min(1).max(128),
  alg: z.enum(KEY_ALGORITHMS),
  status: z.enum(['active', 'next', 'retired']),
  createdAt: timestampSchema,
  // Files of earlier versions have neither.
  activatedAt: timestampSchema.optional(),
  retiredAt: timestampSchema.optional(),
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
      // How a key came to be here says nothing about the installation that imports it.
      const { sealedPrivateKeyPem: _sealed, generatedAtStart: _here, ...rest } = record;
      return { ...rest, privateKeyPem: openPrivateKey(context.box, record) };
    },
    admit(key, replacing) {
      const problems = signingKeyProblems(key.alg, key.privateKeyPem, key.certificatePem);
      // A key id names one key pair for relying parties (the JWKS kid): another pair under the same id would confuse them and the server's key cache.
      if (replacing && (replacing.alg !== key.alg || openPrivateKey(context.box, replacing) !== key.privateKeyPem)) problems.push('this installation has a different key under the same id');
      if (problems.length) return { ok: false, problems };
      const { privateKeyPem, ...rest } = key;
      return { ok: true, record: { ...rest, sealedPrivateKeyPem: sealPrivateKey(context.box, privateKeyPem) }, warnings: certificateWarnings(key, context.clock.now()) };
    },
  };
}

/** An imported certificate may be of any age: one that has ended, or soon will, is worth a word before the key signs with it. */
function certificateWarnings(key: ExportedKey, now: number): string[] {
  if (key.certificatePem === undefined || key.status === 'retired') return [];
  const notAfter = new Date(new X509Certificate(key.certificatePem).validTo);
  const concern = certificateConcern(notAfter, now);
  if (!concern) return [];
  const day = notAfter.toISOString().slice(0, 10);
  return [`its certificate ${concern === 'expired' ? `expired on ${day}` : `expires on ${day}, within ${CERTIFICATE_WARNING_DAYS} days`}: rotate the key soon after the import (keys add, keys activate)`];
}

const HERE: Record<KeyStatus, string> = {
  active: 'active: will sign',
  next: 'next: published, signs only after "keys activate"',
  retired: 'retired: published for verification only, never signs',
};

/** The file's keys with the status and times each will have here, what each plan line says of it, and why a key does not get the file's status. */
export interface KeySettlement {
  keys: ExportedKey[];
  notes: Map<string, string>;
  warnings: string[];
}

/**
 * The status each imported key takes here. Imported keys keep the file's status, so the imported IdP
 * signs with the keys its relying parties already trust, except where that would put an older key
 * back into signing without the admin asking for it (`activateImported`, --activate-imported-keys):
 * - a key this installation retired stays retired (a key is often retired because it may have leaked),
 *   and one it removed (`removedHere`, imported only when the admin says so) comes back retired;
 * - while this installation's own active key of an algorithm signs because an admin chose it here
 *   (not one made at first start) and the file does not retire it, the file may predate a rotation
 *   here: the file's keys of that algorithm come in retired (published for verification only), or
 *   keep their status here if they are here already, and this installation's key goes on signing.
 * A key that enters a status here (active, retired) is stamped with the time of the import.
 */
export function settleImportedKeys(here: readonly SigningKeyRecord[], fromFile: readonly ExportedKey[], options: { activateImported: boolean; removedHere?: ReadonlySet<string>; now: number }): KeySettlement {
  const hereById = new Map(here.map((key) => [key.id, key]));
  const keepers = new Map(KEY_ALGORITHMS.map((alg) => [alg, options.activateImported ? undefined : keepsSigning(here, fromFile, alg)]));
  const notes = new Map<string, string>();
  const warnings: string[] = [];
  const heldBack = new Map<KeyAlgorithm, string[]>();
  const keys = fromFile.map((key) => {
    const mine = hereById.get(key.id);
    const keeper = keepers.get(key.alg);
    let status: KeyStatus = key.status;
    if (!options.activateImported && mine?.status === 'retired') {
      status = 'retired';
      if (key.status !== 'retired') warnings.push(`signing key ${key.id} (${key.alg}) is ${key.status} in the file, but this installation retired it${mine.retiredAt === undefined ? '' : ` on ${utcMinuteWithZone(mine.retiredAt)}`}: it stays retired. --activate-imported-keys imports it as ${key.status}.`);
    } else if (keeper && key.status !== 'retired' && mine?.status !== key.status) {
      status = mine?.status ?? 'retired';
      // The key that goes on signing is not one the file is kept from making active.
      if (key.id !== keeper.id) heldBack.set(key.alg, [...(heldBack.get(key.alg) ?? []), key.id]);
    } else if (!options.activateImported && key.status !== 'retired' && options.removedHere?.has(key.id)) {
      status = 'retired';
      warnings.push(`signing key ${key.id} (${key.alg}) is ${key.status} in the file, but this installation removed it: it comes back retired. --activate-imported-keys imports it as ${key.status}.`);
    }
    notes.set(key.id, `(${key.alg}) ${key.status} in the file; here ${HERE[status]}`);
    return stamped({ ...key, status }, mine, options.now);
  });
  for (const [alg, ids] of heldBack) {
    const keeper = keepers.get(alg)!;
    warnings.push(
      `this installation's ${alg} key ${keeper.id} (activated ${keeper.activatedAt === undefined ? 'at a time not recorded' : utcMinuteWithZone(keeper.activatedAt)}) signs here, and the file does not retire it: the file may predate a rotation made here. ` +
        `${keeper.id} goes on signing; the file's ${ids.join(', ')} ${ids.length === 1 ? 'does' : 'do'} not take over. To give the file's ${alg} keys their status in the file (its active key signs), give --activate-imported-keys (and --replace).`,
    );
  }
  return { keys, notes, warnings };
}

/**
 * This installation's active key of `alg` when it must go on signing over the file's active key of
 * that algorithm; undefined when the file's key may take its place: there is no other, this one was
 * made at a start rather than chosen by an admin (a fresh installation), or the file holds it as
 * retired (it was exported after a rotation away from this key, so its own key is the newer one).
 */
function keepsSigning(here: readonly SigningKeyRecord[], fromFile: readonly ExportedKey[], alg: KeyAlgorithm): SigningKeyRecord | undefined {
  const mine = here.find((key) => key.alg === alg && key.status === 'active');
  const theirs = fromFile.find((key) => key.alg === alg && key.status === 'active');
  if (!mine || !theirs || mine.id === theirs.id || mine.generatedAtStart) return undefined;
  return fromFile.some((key) => key.id === mine.id && key.status === 'retired') ? undefined : mine;
}

/** Times travel with a key; entering a status here is stamped now, and a status kept keeps this installation's time. */
function stamped(key: ExportedKey, mine: SigningKeyRecord | undefined, now: number): ExportedKey {
  const { activatedAt: fromFile, retiredAt: _fromFile, ...rest } = key;
  const activatedAt = key.status !== 'active' ? fromFile : mine?.status === 'active' ? mine.activatedAt : now;
  const retiredAt = key.status !== 'retired' ? undefined : mine?.status === 'retired' ? mine.retiredAt : now;
  return { ...rest, ...(activatedAt !== undefined ? { activatedAt } : {}), ...(retiredAt !== undefined ? { retiredAt } : {}) };
}

/**
 * This installation's keys that the imported ones displace, as they will be stored: retired now.
 *
 * The keys here that signed (active) or waited to sign (next) for an algorithm the import brings a
 * key of that status for are retired rather than refused: refusing would make every import into a
 * fresh installation fail (it made its own keys at first start), and a retired key stays in the
 * JWKS, so tokens it signed still verify until it is removed with `keys remove`.
 * Because SAML SPs that trust only this installation's certificate stop accepting its assertions,
 * the import asks for --replace before retiring anything.
 */
export function displacedKeys(here: readonly SigningKeyRecord[], imported: readonly SigningKeyRecord[], now: number): SigningKeyRecord[] {
  const importedIds = new Set(imported.map((key) => key.id));
  return here
    .filter((key) => !importedIds.has(key.id) && key.status !== 'retired' && imported.some((other) => other.alg === key.alg && other.status === key.status))
    .map((key) => ({ ...key, status: 'retired', retiredAt: now }));
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
