import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { signingKeyProblems } from '../../src/keys/key-material.ts';
import { openPrivateKey, SigningKeys, type KeyAlgorithm } from '../../src/keys/signing-keys.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import type { Collection } from '../../src/store/store.ts';

const box = new SecretBox(randomBytes(32));
const keys = new SigningKeys({} as Collection<never>, box, { now: () => Date.now() }, 'idp.example.org');

async function made(alg: KeyAlgorithm): Promise<{ pem: string; certificatePem?: string }> {
  const record = await keys.generate(alg, 'active');
  return { pem: openPrivateKey(box, record), certificatePem: record.certificatePem };
}

const pemOf = (key: ReturnType<typeof generateKeyPairSync>['privateKey']) => key.export({ format: 'pem', type: 'pkcs8' }).toString();

test('keys Stepgate makes pass; keys of the wrong type or size, or without their certificate, are refused', async () => {
  const rsa = await made('RS256');
  const ec = await made('ES256');
  assert.deepEqual(signingKeyProblems('RS256', rsa.pem, rsa.certificatePem), []);
  assert.deepEqual(signingKeyProblems('ES256', ec.pem, undefined), []);

  assert.deepEqual(signingKeyProblems('RS256', 'not a key', rsa.certificatePem), ['the private key is not a PEM private key']);
  assert.deepEqual(signingKeyProblems('RS256', ec.pem, rsa.certificatePem), ['an RS256 key must be RSA with at least 2048 bits', 'the certificate is not for this private key']);
  assert.deepEqual(signingKeyProblems('RS256', rsa.pem, undefined), ['an RS256 key needs its certificate (SAML metadata publishes it)']);
  assert.deepEqual(signingKeyProblems('RS256', rsa.pem, 'not a certificate'), ['the certificate is not a PEM certificate']);
  const small = pemOf(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey);
  assert.deepEqual(signingKeyProblems('RS256', small, rsa.certificatePem), ['an RS256 key must be RSA with at least 2048 bits', 'the certificate is not for this private key']);
  assert.deepEqual(signingKeyProblems('ES256', rsa.pem, undefined), ['an ES256 key must be EC on the P-256 curve']);
  const p384 = pemOf(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey);
  assert.deepEqual(signingKeyProblems('ES256', p384, undefined), ['an ES256 key must be EC on the P-256 curve']);
});
