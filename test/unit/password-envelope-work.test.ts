import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes, scryptSync } from 'node:crypto';
import { EnvelopeError, openWithPassword, sealWithPassword, type EnvelopeFormat } from '../../src/core/password-envelope.ts';

const FORMAT: EnvelopeFormat = { id: 'stepgate-config', description: 'a Stepgate configuration export' };
const PASSWORD = 'correct horse battery';
const VALUE = { users: ['alice'] };

interface Kdf {
  N: number;
  r: number;
  p: number;
}

/** A file as another tool would seal it with these scrypt parameters, the rest as Stepgate writes it. */
function sealedWith(kdf: Kdf): string {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = scryptSync(PASSWORD, salt, 32, { ...kdf, maxmem: 256 * 1024 * 1024 });
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(`${FORMAT.id}/1`));
  const data = Buffer.concat([cipher.update(JSON.stringify(VALUE)), cipher.final()]);
  return JSON.stringify({ format: FORMAT.id, version: 1, kdf: { name: 'scrypt', salt: salt.toString('base64'), ...kdf }, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') });
}

/** A file Stepgate wrote, with its scrypt parameters edited: opening it would derive the key with them. */
function edited(kdf: Kdf): string {
  const envelope = JSON.parse(sealWithPassword(VALUE, PASSWORD, FORMAT));
  envelope.kdf = { ...envelope.kdf, ...kdf };
  return JSON.stringify(envelope);
}

test('Stepgate writes scrypt N=2^15, r=8, p=1, and files with up to 4 times that work still open', () => {
  const { N, r, p } = JSON.parse(sealWithPassword(VALUE, PASSWORD, FORMAT)).kdf;
  assert.deepEqual({ N, r, p }, { N: 2 ** 15, r: 8, p: 1 });
  for (const kdf of [{ N: 2 ** 14, r: 8, p: 1 }, { N: 2 ** 15, r: 8, p: 4 }, { N: 2 ** 17, r: 8, p: 1 }, { N: 2 ** 15, r: 16, p: 2 }]) {
    assert.deepEqual(openWithPassword(sealedWith(kdf), PASSWORD, FORMAT), VALUE, JSON.stringify(kdf));
  }
});

test('a file whose scrypt parameters ask for more than 4 times the work Stepgate writes is refused before any key is derived', () => {
  // N=2^18, r=8, p=16 stayed within the memory bound and took 45 s before the refusal.
  for (const kdf of [{ N: 2 ** 18, r: 8, p: 16 }, { N: 2 ** 15, r: 8, p: 16 }, { N: 2 ** 15, r: 8, p: 5 }, { N: 2 ** 18, r: 8, p: 1 }, { N: 2 ** 14, r: 32, p: 3 }]) {
    assert.throws(
      () => openWithPassword(edited(kdf), PASSWORD, FORMAT),
      (error: unknown) => error instanceof EnvelopeError && error.message === `the file's key derivation asks for more work than Stepgate allows (scrypt N=${kdf.N}, r=${kdf.r}, p=${kdf.p}: N·r·p at most 2^20, 4 times what Stepgate writes); it was not tried`,
      JSON.stringify(kdf),
    );
  }
});

test('a file whose scrypt parameters are weaker than Stepgate accepts is refused as such, not as another kind of file', () => {
  for (const kdf of [{ N: 2 ** 13, r: 8, p: 1 }, { N: 3 * 2 ** 14, r: 8, p: 1 }, { N: 2 ** 15, r: 0, p: 1 }]) {
    assert.throws(
      () => openWithPassword(edited(kdf), PASSWORD, FORMAT),
      (error: unknown) => error instanceof EnvelopeError && error.message === "the file's key derivation settings are not ones Stepgate accepts (scrypt with N a power of two of at least 2^14, r and p at least 1); it was not tried",
      JSON.stringify(kdf),
    );
  }
  const truncated = JSON.parse(sealWithPassword(VALUE, PASSWORD, FORMAT));
  delete truncated.iv;
  assert.throws(() => openWithPassword(JSON.stringify(truncated), PASSWORD, FORMAT), /not a Stepgate configuration export \(unknown format or version\)/);
});
