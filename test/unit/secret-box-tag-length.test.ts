import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SealedValueRejected, SecretBox } from '../../src/core/secret-box.ts';

const box = new SecretBox(randomBytes(32));

test('a sealed value whose tag was cut short does not open: a forger must match all 128 bits', () => {
  const sealed = box.seal('alice', 'familiar-device');
  assert.equal(box.openText(sealed, 'familiar-device'), 'alice');
  const [version, iv, tag, body] = sealed.split('.');
  const full = Buffer.from(tag!, 'base64url');
  for (const bytes of [4, 8, 12, 15]) {
    const cut = [version, iv, full.subarray(0, bytes).toString('base64url'), body].join('.');
    assert.throws(() => box.openText(cut, 'familiar-device'), SealedValueRejected, `a ${bytes}-byte tag`);
  }
});
