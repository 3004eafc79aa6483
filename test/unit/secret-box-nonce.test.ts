import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/core/secret-box.ts';

/**
 * AES-GCM under one key for the whole data directory: an IV used twice gives away the XOR of the two
 * plaintexts and lets the authentication key be solved for, after which any sealed value can be forged.
 * So each seal draws a fresh 96-bit IV, whatever it seals.
 */
test('every seal has its own 96-bit IV, also for the same plaintext and purpose, across refills of the random pool', () => {
  const box = new SecretBox(randomBytes(32));
  const ivs = new Set<string>();
  const bodies = new Set<string>();
  // 12 bytes a seal: 2,000 seals draw the 4 KB pool about six times over.
  for (let n = 0; n < 2000; n++) {
    const [, iv, , body] = box.seal('the same secret', 'purpose').split('.');
    assert.equal(Buffer.from(iv!, 'base64url').length, 12);
    assert.ok(!ivs.has(iv!), `IV of seal ${n} came back`);
    ivs.add(iv!);
    bodies.add(body!);
  }
  assert.equal(bodies.size, 2000, 'the same plaintext never seals to the same ciphertext');
  assert.equal(box.open(box.seal('the same secret', 'purpose'), 'purpose').toString(), 'the same secret');
});
