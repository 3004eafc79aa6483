import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { runSpCli } from '../helpers/sp-cli.ts';
import { systemClock } from '../../src/core/clock.ts';
import { createSpRegistry } from '../../src/saml/sp-registry.ts';
import type { Store } from '../../src/store/store.ts';

/**
 * Two rules of `sp add` that a valid-looking file can break (README "SAML service providers"):
 * certificates must hold RSA keys (samlify signs and encrypts with RSA only, so an EC key would fail
 * only later, at a sign-in), and AssertionConsumerService indexes must be unique (an AuthnRequest's
 * AssertionConsumerServiceIndex must name one endpoint, not whichever comes first).
 */
const VALID = fileURLToPath(new URL('../fixtures/saml/sp-valid.xml', import.meta.url));
const WIKI = 'https://wiki.example.org/saml/metadata';

let dir: string;
let store: Store;
let valid: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-sp-rules-'));
  store = await new LowdbStore(dir, systemClock, { sealer: testSealer() }).open();
  valid = await readFile(VALID, 'utf8');
});
after(async () => {
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const spAdd = (file: string) => runSpCli(dir, store, ['sp', 'add', file, '--no-encrypt']);

/** sp-valid.xml under its own entityID, changed by `change`. */
async function variant(name: string, change: (xml: string) => string): Promise<{ file: string; entityId: string }> {
  const entityId = `https://${name}.example.org/sp`;
  const file = join(dir, `${name}.xml`);
  await writeFile(file, change(valid.replace(`entityID="${WIKI}"`, `entityID="${entityId}"`)));
  return { file, entityId };
}

const registered = async () => (await createSpRegistry(store, systemClock).list()).map((sp) => sp.id);

async function assertRefused(source: { file: string; entityId: string }, message: RegExp): Promise<void> {
  const before = await registered();
  const { code, err } = await spAdd(source.file);
  assert.equal(code, 1, err);
  assert.match(err, message);
  assert.deepEqual(await registered(), before, 'nothing registered');
  assert.ok(!before.includes(source.entityId));
}

async function ecCertificateBody(): Promise<string> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const notBefore = new Date(Date.now() - 86_400_000);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '02', name: 'CN=ec.example.org', notBefore, notAfter: new Date(notBefore.getTime() + 365 * 86_400_000), keys: keys as never, signingAlgorithm: algorithm });
  return certificate.toString('base64');
}

test('the unchanged fixture registers (the variants below differ from it in one thing each)', async () => {
  const control = await variant('control', (xml) => xml);
  const { code, err } = await spAdd(control.file);
  assert.equal(code, 0, err);
  assert.deepEqual(await registered(), [control.entityId]);
  assert.equal(await createSpRegistry(store, systemClock).remove(control.entityId), true);
  assert.deepEqual(await registered(), []);
});

test('an EC certificate, as signing or as encryption certificate, is refused: only RSA keys are supported', async () => {
  const body = await ecCertificateBody();
  const signing = await variant('ec-signing', (xml) => xml.replace(/(<md:KeyDescriptor use="signing">\s*<ds:KeyInfo><ds:X509Data><ds:X509Certificate>)[^<]*/, `$1${body}`));
  await assertRefused(signing, /KeyDescriptor #1: only RSA keys are supported, this one is ec/);
  const encryption = await variant('ec-encryption', (xml) => xml.replace(/(<md:KeyDescriptor use="encryption">\s*<ds:KeyInfo><ds:X509Data><ds:X509Certificate>)[^<]*/, `$1${body}`));
  await assertRefused(encryption, /KeyDescriptor #2: only RSA keys are supported, this one is ec/);
});

test('two AssertionConsumerService elements with the same index are refused', async () => {
  const duplicate = await variant('dup-index', (xml) =>
    xml.replace(
      '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://wiki.example.org/saml/acs-redirect" index="0"/>',
      '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://wiki.example.org/saml/acs-other" index="1"/>',
    ),
  );
  assert.match(await readFile(duplicate.file, 'utf8'), /index="1"[\s\S]*index="1"/, 'the variant has two ACS at index 1');
  await assertRefused(duplicate, /two AssertionConsumerService elements have the same index/);
});

test('a PEM certificate pasted whole into ds:X509Certificate is refused with what to put there', async () => {
  const pasted = await variant('pem-pasted', (xml) =>
    xml.replace(/(<md:KeyDescriptor use="signing">\s*<ds:KeyInfo><ds:X509Data><ds:X509Certificate>)([^<]*)/, (_match, opening: string, body: string) => `${opening}-----BEGIN CERTIFICATE-----\n${body.trim()}\n-----END CERTIFICATE-----\n`),
  );
  assert.match(await readFile(pasted.file, 'utf8'), /<ds:X509Certificate>-----BEGIN CERTIFICATE-----\nMII/);
  await assertRefused(pasted, /a ds:X509Certificate holds a PEM certificate with its -----BEGIN CERTIFICATE----- line; put only the base64 text between the BEGIN and END lines there/);
});
