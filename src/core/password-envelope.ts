import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { z } from 'zod';

/** Export files leave the data directory, so their password is all that protects the secrets inside. */
export const MIN_PASSWORD_LENGTH = 12;

/** What kind of export a file holds: `id` is written in the file and bound to the ciphertext; `description` names it in errors. */
export interface EnvelopeFormat {
  id: string;
  /** e.g. "a Stepgate TOTP export", as in "the file is not a Stepgate TOTP export". */
  description: string;
}

/** Why a file could not be opened (or sealed), worded for the admin. */
export class EnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

const VERSION = 1;
/** What every version has written (mfa export too, before it shared this envelope). */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1 };
/**
 * Bounds on the parameters a file may name: a file must not make us spend gigabytes or minutes
 * before the password is even checked. scrypt's time grows with N·r·p and its memory with N·r
 * (128·N·r bytes), so 4 times the work Stepgate writes bounds both: about a second and 128 MB.
 * Bounding the memory alone let a file ask for p = 16 and 45 s.
 */
const MAX_SCRYPT_WORK = 4 * SCRYPT.N * SCRYPT.r * SCRYPT.p;
const MAX_SCRYPT_MEMORY = 128 * MAX_SCRYPT_WORK;
const MIN_SCRYPT_N = 2 ** 14;
const SALT_BYTES = 16;
const IV_BYTES = 12;
/** Always the full tag: GCM would otherwise accept a truncated one, which is far easier to forge. */
const TAG_BYTES = 16;

/** The scrypt settings Stepgate takes from a file, in words for a refusal. */
export const ACCEPTED_SCRYPT_SETTINGS = `N a power of two of at least 2^${Math.log2(MIN_SCRYPT_N)}, r and p at least 1, N·r·p at most 2^${Math.log2(MAX_SCRYPT_WORK)}`;

/**
 * The envelope's bounds, for other scrypt settings a file carries (a configuration import's password
 * hashes): an N scrypt refuses would fail every check made with it, and more work would be spent at
 * every sign-in, holding one of the few password slots (directory/password-hash.ts) for seconds.
 */
export function scryptSettingsAccepted(kdf: { N: number; r: number; p: number }): boolean {
  const { N, r, p } = kdf;
  return [N, r, p].every((value) => Number.isSafeInteger(value) && value >= 1) && N >= MIN_SCRYPT_N && (N & (N - 1)) === 0 && N * r * p <= MAX_SCRYPT_WORK;
}

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const envelopeSchema = z.object({
  format: z.string(),
  version: z.literal(VERSION),
  kdf: z
    .object({ name: z.literal('scrypt'), salt: base64, N: z.number().int().min(MIN_SCRYPT_N), r: z.number().int().min(1), p: z.number().int().min(1) })
    .refine((kdf) => (kdf.N & (kdf.N - 1)) === 0),
  iv: base64,
  tag: base64,
  data: base64,
});

/** What the envelope says of itself before it is checked whole: enough to tell another kind of file or a newer Stepgate's. */
const labelSchema = z.object({ format: z.unknown(), version: z.unknown() });

type Envelope = z.infer<typeof envelopeSchema>;

/** The format and version travel in clear but are authenticated: a file relabelled as another kind of export does not open. */
function additionalData(format: EnvelopeFormat): Buffer {
  return Buffer.from(`${format.id}/${VERSION}`);
}

function keyFor(password: string, salt: Buffer, kdf: { N: number; r: number; p: number }): Buffer {
  // NFC: the same password typed on another system may arrive composed differently.
  return scryptSync(password.normalize('NFC'), salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: MAX_SCRYPT_MEMORY + 1024 * 1024 });
}

/** `value` as JSON, encrypted with a key derived from the password (scrypt, AES-256-GCM); returns the file's text. */
export function sealWithPassword(value: unknown, password: string, format: EnvelopeFormat): string {
  if (password.length < MIN_PASSWORD_LENGTH) throw new EnvelopeError(`the export password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyFor(password, salt, SCRYPT), iv, { authTagLength: TAG_BYTES }).setAAD(additionalData(format));
  const data = Buffer.concat([cipher.update(JSON.stringify(value)), cipher.final()]);
  const envelope: Envelope = {
    format: format.id,
    version: VERSION,
    kdf: { name: 'scrypt', salt: salt.toString('base64'), ...SCRYPT },
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  return JSON.stringify(envelope, null, 2) + '\n';
}

/**
 * The envelope, or an EnvelopeError that says what keeps it from being tried: another kind of file,
 * a newer envelope version, key derivation too costly. All of it is in clear, so saying which tells
 * nothing about the password.
 */
function checkedEnvelope(json: unknown, format: EnvelopeFormat): Envelope {
  const label = labelSchema.safeParse(json);
  const unknown = new EnvelopeError(`the file is not ${format.description} (unknown format or version)`);
  if (!label.success || label.data.format !== format.id) throw unknown;
  const { version } = label.data;
  if (typeof version === 'number' && version !== VERSION) throw new EnvelopeError(`the file is ${format.description} in envelope version ${version}; this Stepgate reads version ${VERSION}`);
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success && parsed.error.issues.every((issue) => issue.path[0] === 'kdf')) {
    // Ours, but derived with settings Stepgate never writes (an edited N below 2^14 would make guessing the password cheap).
    throw new EnvelopeError(`the file's key derivation settings are not ones Stepgate accepts (scrypt with N a power of two of at least 2^14, r and p at least 1); it was not tried`);
  }
  if (!parsed.success) throw unknown;
  const { N, r, p } = parsed.data.kdf;
  if (N * r * p > MAX_SCRYPT_WORK) throw new EnvelopeError(`the file's key derivation asks for more work than Stepgate allows (scrypt N=${N}, r=${r}, p=${p}: N·r·p at most 2^${Math.log2(MAX_SCRYPT_WORK)}, 4 times what Stepgate writes); it was not tried`);
  return parsed.data;
}

/** The value `sealWithPassword` sealed; throws an EnvelopeError for another kind of file, a wrong password or any alteration. */
export function openWithPassword(text: string, password: string, format: EnvelopeFormat): unknown {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new EnvelopeError(`the file is not ${format.description} (not JSON)`);
  }
  const envelope = checkedEnvelope(json, format);
  try {
    const iv = Buffer.from(envelope.iv, 'base64');
    const tag = Buffer.from(envelope.tag, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error('bad length');
    const decipher = createDecipheriv('aes-256-gcm', keyFor(password, Buffer.from(envelope.kdf.salt, 'base64'), envelope.kdf), iv, { authTagLength: TAG_BYTES }).setAAD(additionalData(format));
    decipher.setAuthTag(tag);
    return JSON.parse(Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64')), decipher.final()]).toString('utf8'));
  } catch {
    // One message for every failure: which part failed would tell an attacker what to change next.
    throw new EnvelopeError('the password is wrong or the file was altered');
  }
}
