import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CookieSigner } from '../../src/oidc/cookie-signer.ts';

const signer = new CookieSigner('first secret, long enough for a test');
const DATA = '_session=abc123; path=/; httponly';

describe('CookieSigner (keygrip contract for oidc-provider cookies)', () => {
  test('a digest it made verifies: index 0, verify true; the digest is base64url HMAC-SHA256', () => {
    const digest = signer.sign(DATA);
    assert.match(digest, /^[A-Za-z0-9_-]{43}$/, '32 bytes, base64url without padding');
    assert.equal(signer.sign(DATA), digest, 'deterministic');
    assert.equal(signer.index(DATA, digest), 0);
    assert.equal(signer.verify(DATA, digest), true);
  });

  test('tampered data or a tampered digest is refused', () => {
    const digest = signer.sign(DATA);
    assert.equal(signer.index(`${DATA}x`, digest), -1);
    assert.equal(signer.verify(`${DATA}x`, digest), false);
    assert.equal(signer.index('', digest), -1);
    const flipped = `${digest[0] === 'A' ? 'B' : 'A'}${digest.slice(1)}`;
    assert.equal(signer.index(DATA, flipped), -1);
    assert.equal(signer.verify(DATA, flipped), false);
    assert.notEqual(signer.sign('a'), signer.sign('b'));
  });

  test('a digest of another length is refused without throwing', () => {
    const digest = signer.sign(DATA);
    for (const other of ['', digest.slice(0, -1), `${digest}A`, `${digest}=`, 'x'.repeat(1000)]) {
      assert.doesNotThrow(() => signer.index(DATA, other));
      assert.equal(signer.index(DATA, other), -1, `length ${other.length}`);
      assert.equal(signer.verify(DATA, other), false);
    }
  });

  test('signers with different secrets do not accept each other’s digests', () => {
    const other = new CookieSigner('second secret, long enough for a test');
    assert.notEqual(other.sign(DATA), signer.sign(DATA));
    assert.equal(other.index(DATA, signer.sign(DATA)), -1);
    assert.equal(signer.index(DATA, other.sign(DATA)), -1);
    assert.equal(other.verify(DATA, signer.sign(DATA)), false);
    assert.equal(new CookieSigner('first secret, long enough for a test').index(DATA, signer.sign(DATA)), 0, 'the same secret in a new instance agrees');
  });
});
