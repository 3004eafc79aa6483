import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes, scryptSync } from 'node:crypto';
import { EnvelopeError, openWithPassword, sealWithPassword, type EnvelopeFormat } from '../../src/core/password-envelope.ts';

const FORMAT: EnvelopeFormat = { id: 'stepgate-config', description: 'a Stepgate configuration export' };
const OTHER: EnvelopeFormat = { id: 'stepgate-totp-export', description: 'a Stepgate TOTP export' };
const PASSWORD = 'correct horse battery';
const VALUE = { secret: 'do-not-leak-this', list: [1, 2, 3], nested: { ok: true } };

const WRONG = /^the password is wrong or the file was altered$/;

/** The envelope with one base64 field changed by `change` (applied to its bytes). */
function altered(text: string, field: 'data' | 'tag' | 'iv', change: (bytes: Buffer) => Buffer): string {
  const envelope = JSON.parse(text);
  envelope[field] = change(Buffer.from(envelope[field], 'base64')).toString('base64');
  return JSON.stringify(envelope);
}

function flipFirstByte(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  copy[0] = copy[0]! ^ 1;
  return copy;
}

function assertRefused(text: string, message: RegExp, format = FORMAT, password = PASSWORD): void {
  assert.throws(
    () => openWithPassword(text, password, format),
    (error: unknown) => error instanceof EnvelopeError && message.test(error.message),
  );
}

test('seal and open give the value back; the file shows nothing of it and differs every time', () => {
  const text = sealWithPassword(VALUE, PASSWORD, FORMAT);
  assert.deepEqual(openWithPassword(text, PASSWORD, FORMAT), VALUE);
  assert.equal(text.includes('do-not-leak-this'), false);
  assert.deepEqual(Object.keys(JSON.parse(text)), ['format', 'version', 'kdf', 'iv', 'tag', 'data']);
  assert.equal(JSON.parse(text).format, 'stepgate-config');
  assert.notEqual(sealWithPassword(VALUE, PASSWORD, FORMAT), text, 'fresh salt and IV');
  // The same password typed as decomposed Unicode opens it too (NFC).
  const accented = sealWithPassword(VALUE, 'pass\u00e9-word-long', FORMAT);
  assert.deepEqual(openWithPassword(accented, 'passe\u0301-word-long', FORMAT), VALUE);
});

test('a wrong password is refused with the one message', () => {
  assertRefused(sealWithPassword(VALUE, PASSWORD, FORMAT), WRONG, FORMAT, 'another long password');
});

test('altered data, tag or IV, and a truncated tag, are refused with the same message', () => {
  const text = sealWithPassword(VALUE, PASSWORD, FORMAT);
  assertRefused(altered(text, 'data', flipFirstByte), WRONG);
  assertRefused(altered(text, 'tag', flipFirstByte), WRONG);
  assertRefused(altered(text, 'iv', flipFirstByte), WRONG);
  assertRefused(altered(text, 'tag', (bytes) => bytes.subarray(0, 12)), WRONG);
  const kdf = JSON.parse(text);
  kdf.kdf.salt = flipFirstByte(Buffer.from(kdf.kdf.salt, 'base64')).toString('base64');
  assertRefused(JSON.stringify(kdf), WRONG);
});

test('the format is bound to the ciphertext: another kind of export, relabelled or not, does not open', () => {
  const totp = sealWithPassword(VALUE, PASSWORD, OTHER);
  assertRefused(totp, /^the file is not a Stepgate configuration export \(unknown format or version\)$/);
  const relabelled = JSON.parse(totp);
  relabelled.format = FORMAT.id;
  assertRefused(JSON.stringify(relabelled), WRONG);
});

test('foreign files, unknown versions and unreasonable scrypt parameters are refused before any decryption', () => {
  const text = sealWithPassword(VALUE, PASSWORD, FORMAT);
  assertRefused('not json', /^the file is not a Stepgate configuration export \(not JSON\)$/);
  assertRefused('{"format":"stepgate-config"}', /unknown format or version/);
  assertRefused(JSON.stringify({ ...JSON.parse(text), version: 2 }), /envelope version 2; this Stepgate reads version 1/);
  assertRefused(JSON.stringify({ ...JSON.parse(text), kdf: { ...JSON.parse(text).kdf, N: 2 ** 30 } }), /asks for more work than Stepgate allows/);
  for (const change of [{ kdf: { ...JSON.parse(text).kdf, N: 30000 } }, { kdf: { ...JSON.parse(text).kdf, name: 'pbkdf2' } }]) {
    assertRefused(JSON.stringify({ ...JSON.parse(text), ...change }), /^the file's key derivation settings are not ones Stepgate accepts \(scrypt with N a power of two of at least 2\^14, r and p at least 1\); it was not tried$/);
  }
});

test('a password shorter than 12 characters is refused when sealing', () => {
  assert.throws(() => sealWithPassword(VALUE, 'elevenchars', FORMAT), (error: unknown) => error instanceof EnvelopeError && /at least 12 characters/.test(error.message));
});

test('files written before the envelope was shared (mfa export) still open', () => {
  // The layout totp-transfer.ts wrote itself: scrypt N=2^15, r=8, p=1; AES-256-GCM with AAD "<format>/1".
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = scryptSync(PASSWORD, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from('stepgate-totp-export/1'));
  const data = Buffer.concat([cipher.update(JSON.stringify({ users: [] })), cipher.final()]);
  const file = { format: 'stepgate-totp-export', version: 1, kdf: { name: 'scrypt', salt: salt.toString('base64'), N: 2 ** 15, r: 8, p: 1 }, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
  assert.deepEqual(openWithPassword(JSON.stringify(file, null, 2), PASSWORD, OTHER), { users: [] });
});
