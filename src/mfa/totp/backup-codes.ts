import { randomInt } from 'node:crypto';
import type { KeyValue } from '../../store/store.ts';
import { updateWithRetry } from '../../store/update-with-retry.ts';
import type { SecretBox } from '../../core/secret-box.ts';

const NAMESPACE = 'mfa-backup-codes';
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const LENGTH = 10; // 50 bits each
const MAX_CAS_ATTEMPTS = 50;

interface BackupCodeRecord {
  /** Keyed MACs of the unused codes: useless without the server's secret key. */
  hashes: string[];
  /**
   * Keyed MACs of this set's spent codes, so that one typed again is told "already used" rather than
   * "not correct". Absent in records of older versions.
   */
  usedHashes?: string[];
  generatedAt: number;
}

/** Shown once as "abcde-fghij"; typed with or without the dash, any case. */
function formatBackupCode(code: string): string {
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** Single-use recovery codes. Kept in the kv store so that spending one is an atomic compare-and-set. */
export class BackupCodes {
  readonly #kv: KeyValue;
  readonly #box: SecretBox;

  constructor(kv: KeyValue, box: SecretBox) {
    this.#kv = kv;
    this.#box = box;
  }

  #hash(userId: string, code: string): string {
    return this.#box.mac('mfa-backup-code', `${userId}\0${code}`);
  }

  /** Replaces any previous codes; returns the new ones in clear, for showing once. */
  async regenerate(userId: string, count: number, now: number): Promise<string[]> {
    const codes = Array.from({ length: count }, () => Array.from({ length: LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join(''));
    await this.#kv.set<BackupCodeRecord>(NAMESPACE, userId, { hashes: codes.map((code) => this.#hash(userId, code)), generatedAt: now });
    return codes.map(formatBackupCode);
  }

  async remaining(userId: string): Promise<number> {
    return (await this.#kv.get<BackupCodeRecord>(NAMESPACE, userId))?.hashes.length ?? 0;
  }

  /** Spends a code (normalised: lower case, no dash). Returns the number left, or undefined when the code is not valid. */
  async consume(userId: string, code: string): Promise<number | undefined> {
    const hash = this.#hash(userId, code);
    return updateWithRetry<BackupCodeRecord, number | undefined>(
      this.#kv,
      NAMESPACE,
      userId,
      (record) => {
        if (!record?.hashes.includes(hash)) return { result: undefined };
        const next = { ...record, hashes: record.hashes.filter((candidate) => candidate !== hash), usedHashes: [...(record.usedHashes ?? []), hash] };
        return { next, result: next.hashes.length };
      },
      MAX_CAS_ATTEMPTS,
    );
  }

  /** Whether the code is one of the current set that was spent already (normalised as for consume). */
  async wasUsed(userId: string, code: string): Promise<boolean> {
    return (await this.#kv.get<BackupCodeRecord>(NAMESPACE, userId))?.usedHashes?.includes(this.#hash(userId, code)) ?? false;
  }

  async delete(userId: string): Promise<void> {
    await this.#kv.delete(NAMESPACE, userId);
  }
}
