import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import type { TotpEnrollments } from './totp-enrollments.ts';
import type { TotpParameters } from './totp-codes.ts';

const FORMAT = 'stepgate-totp-export';
const AAD = Buffer.from(`${FORMAT}/1`);
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
export const MIN_EXPORT_PASSWORD_LENGTH = 12;

/** What the encrypted file holds per user. Backup codes are not included: their hashes are keyed to this installation. */
interface ExportedUser extends TotpParameters {
  userId: string;
  username: string;
  secret: string;
  createdAt: number;
}

interface ExportFile {
  format: typeof FORMAT;
  version: 1;
  kdf: { name: 'scrypt'; salt: string; N: number; r: number; p: number };
  iv: string;
  tag: string;
  data: string;
}

function keyFor(password: string, salt: Buffer, kdf: { N: number; r: number; p: number }): Buffer {
  return scryptSync(password.normalize('NFC'), salt, 32, { ...kdf, maxmem: SCRYPT.maxmem });
}

function checkPassword(password: string): void {
  if (password.length < MIN_EXPORT_PASSWORD_LENGTH) throw new Error(`the export password must have at least ${MIN_EXPORT_PASSWORD_LENGTH} characters`);
}

/** Every TOTP registration, secrets in clear but the whole file encrypted with a password (scrypt + AES-256-GCM). */
export async function exportTotp(enrollments: TotpEnrollments, password: string): Promise<{ text: string; count: number }> {
  checkPassword(password);
  const users: ExportedUser[] = (await enrollments.list()).map((enrollment) => ({
    userId: enrollment.id,
    username: enrollment.username,
    secret: enrollments.secretOf(enrollment),
    digits: enrollment.digits,
    periodSeconds: enrollment.periodSeconds,
    algorithm: enrollment.algorithm,
    createdAt: enrollment.createdAt,
  }));
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFor(password, salt, SCRYPT), iv).setAAD(AAD);
  const data = Buffer.concat([cipher.update(JSON.stringify({ users })), cipher.final()]);
  const file: ExportFile = {
    format: FORMAT,
    version: 1,
    kdf: { name: 'scrypt', salt: salt.toString('base64'), N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p },
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  return { text: JSON.stringify(file, null, 2) + '\n', count: users.length };
}

/** Adds the registrations of an export file; existing registrations are kept unless `replace` is set. */
export async function importTotp(enrollments: TotpEnrollments, text: string, password: string, options: { replace: boolean }): Promise<{ imported: number; skipped: string[] }> {
  let file: ExportFile;
  try {
    file = JSON.parse(text);
  } catch {
    throw new Error('the file is not a Stepgate TOTP export (not JSON)');
  }
  if (file?.format !== FORMAT || file.version !== 1 || file.kdf?.name !== 'scrypt') throw new Error('the file is not a Stepgate TOTP export (unknown format or version)');
  let users: ExportedUser[];
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyFor(password, Buffer.from(file.kdf.salt, 'base64'), file.kdf), Buffer.from(file.iv, 'base64')).setAAD(AAD);
    decipher.setAuthTag(Buffer.from(file.tag, 'base64'));
    users = JSON.parse(Buffer.concat([decipher.update(Buffer.from(file.data, 'base64')), decipher.final()]).toString('utf8')).users;
  } catch {
    throw new Error('the password is wrong or the file was altered');
  }
  const skipped: string[] = [];
  let imported = 0;
  for (const user of users) {
    if (!options.replace && (await enrollments.get(user.userId))) {
      skipped.push(user.username);
      continue;
    }
    await enrollments.put(user.userId, user.username, user.secret, { digits: user.digits, periodSeconds: user.periodSeconds, algorithm: user.algorithm }, user.createdAt);
    imported += 1;
  }
  return { imported, skipped };
}
