import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { cliProcess } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { createSpRegistry } from '../../src/saml/sp-registry.ts';

x509.cryptoProvider.set(webcrypto as never);

const PASSWORD = 'Encrypt-to-2026';
const SECRET_KEY = randomBytes(32).toString('base64');
const DAY = 86_400_000;
let app: Booted;
let work: string;

before(async () => {
  app = await boot({}, { secretKey: SECRET_KEY });
  work = await mkdtemp(join(tmpdir(), 'stepgate-sp-encryption-'));
  await addLocalUser(app.services, 'alice', PASSWORD);
});
after(async () => {
  await app?.close();
  await rm(work, { recursive: true, force: true });
});

interface SpCertificate {
  keyPem: string;
  body: string;
}

/** An SP encryption key and its self-signed certificate, valid from `from` to `until` (ms from now). */
async function certificate(name: string, from: number, until: number): Promise<SpCertificate> {
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const made = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '03', name: `CN=${name}`, notBefore: new Date(Date.now() + from), notAfter: new Date(Date.now() + until), keys: keys as never, signingAlgorithm: algorithm });
  const keyPem = createPrivateKey({ key: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
  return { keyPem, body: made.toString('base64') };
}

/** The SP's metadata with these use="encryption" certificates, in this order. */
function withEncryption(metadata: string, certificates: SpCertificate[]): string {
  const descriptors = certificates.map(({ body }) => `<KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>`);
  return metadata.replace('<SingleLogoutService', `${descriptors.join('')}<SingleLogoutService`);
}

test('an expired encryption certificate listed first: assertions are encrypted to the valid one, and sp show lists both', async () => {
  const [expired, valid] = await Promise.all([certificate('expired', -400 * DAY, -30 * DAY), certificate('valid', -DAY, 365 * DAY)]);
  const sp = await TestSp.create(app, { name: 'enc-order' });
  // Registered again as an administrator would, from metadata listing both.
  await createSpRegistry(app.services.store, app.services.clock).remove(sp.entityId);
  const file = join(work, 'enc-order.xml');
  await writeFile(file, withEncryption(sp.metadataXml, [expired, valid]));
  const added = await cliProcess(app, SECRET_KEY, ['sp', 'add', file]);
  assert.equal(added.code, 0, added.err);
  assert.match(added.out, /  encryption certificate: CN=expired, expires \d{4}-\d\d-\d\d \(EXPIRED\), SHA-256 [0-9A-F:]+\n  encryption certificate: CN=valid, expires \d{4}-\d\d-\d\d, SHA-256 [0-9A-F:]+ \(assertions are encrypted to this one\)\n/);
  assert.match((await cliProcess(app, SECRET_KEY, ['sp', 'show', sp.entityId])).out, /encryption certificate: CN=expired[^\n]*\n  encryption certificate: CN=valid/);

  await until(() => createSpRegistry(app.services.store, app.services.clock).get(sp.entityId), (record) => record !== undefined, 'the server to read the SP the CLI added');
  const browser = new TestBrowser();
  const page = await sendAuthnRequest(browser, sp);
  assert.ok(isPasswordPage(page));
  const samlResponse = samlPostForm(await browser.submit(page, { username: 'alice', password: PASSWORD })).fields.SAMLResponse!;
  assert.match(Buffer.from(samlResponse, 'base64').toString('utf8'), /<saml:EncryptedAssertion/);
  const { profile } = await sp.client({ decryptionPvk: valid.keyPem }).validatePostResponseAsync({ SAMLResponse: samlResponse });
  assert.ok(profile?.nameID, 'decrypted with the valid key');
  await assert.rejects(sp.client({ decryptionPvk: expired.keyPem }).validatePostResponseAsync({ SAMLResponse: samlResponse }), 'not with the expired one');
});

test('of the listed encryption certificates, the one valid now for the longest is chosen; none valid: the one that expires last', async () => {
  const [shortLived, longLived, notYet, expiredEarly, expiredLate] = await Promise.all([
    certificate('short', -DAY, 30 * DAY),
    certificate('long', -DAY, 900 * DAY),
    certificate('not-yet', 10 * DAY, 2000 * DAY),
    certificate('expired-early', -400 * DAY, -60 * DAY),
    certificate('expired-late', -400 * DAY, -10 * DAY),
  ]);
  const sp = await TestSp.create(app, { name: 'enc-choice' });
  const registry = createSpRegistry(app.services.store, app.services.clock);
  const chosen = (certificates: SpCertificate[]) => registry.check(withEncryption(sp.metadataXml, certificates)).record.encryptionCertificate?.subject;
  assert.equal(chosen([shortLived, longLived]), 'CN=long', 'the new certificate of a rollover');
  assert.equal(chosen([longLived, shortLived]), 'CN=long', 'whatever the order');
  assert.equal(chosen([shortLived, notYet]), 'CN=short', 'not one that is not valid yet');
  assert.equal(chosen([expiredLate, expiredEarly]), 'CN=expired-late');
  assert.equal(chosen([expiredEarly, expiredLate]), 'CN=expired-late');
  assert.deepEqual(registry.check(withEncryption(sp.metadataXml, [shortLived, longLived])).record.encryptionCertificates?.map((info) => info.subject), ['CN=short', 'CN=long'], 'all are kept, as listed');
});
