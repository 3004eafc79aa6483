import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestSp } from '../helpers/saml-sp.ts';
import { createSpRegistry } from '../../src/saml/sp-registry.ts';

// An SP may name the RSA-OAEP digest it takes (xmlenc-core1 §5.5.2). The encryption library wraps the
// key with SHA-1 whatever it names, so the administrator is told at registration, not at the first
// sign-in the SP cannot decrypt.
const OAEP = 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1';

let app: Booted;
let sp: TestSp;

before(async () => {
  app = await boot();
  sp = await TestSp.create(app, { name: 'oaep-digest', encryption: true, encryptionMethods: ['http://www.w3.org/2009/xmlenc11#aes256-gcm', OAEP] });
});
after(() => app?.close());

function withOaepDigest(digest: string): string {
  const metadata = sp.metadataXml.replace(`<EncryptionMethod Algorithm="${OAEP}"/>`, `<EncryptionMethod Algorithm="${OAEP}"><ds:DigestMethod xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Algorithm="${digest}"/></EncryptionMethod>`);
  assert.notEqual(metadata, sp.metadataXml, 'the metadata lists the OAEP method');
  return metadata;
}

const digestWarnings = (warnings: string[]) => warnings.filter((warning) => /RSA-OAEP key transport with/.test(warning));

test('metadata asking for RSA-OAEP with SHA-256: registration warns that the key is wrapped with SHA-1, naming the digest and --no-encrypt', () => {
  const { record, warnings } = createSpRegistry(app.services.store, app.services.clock).check(withOaepDigest(SHA256));
  assert.equal(record.settings.encryptAssertions, true);
  const [warning, ...more] = digestWarnings(warnings);
  assert.deepEqual(more, []);
  assert.match(warning ?? '', new RegExp(`KeyDescriptor #\\d+: the SP asks for RSA-OAEP key transport with ${SHA256.replace(/[.#]/g, '\\$&')}; .*SHA-1 only.*--no-encrypt`));
});

test('SHA-1 named, or no digest named: no such warning; nor when another OAEP method takes SHA-1', () => {
  const registry = createSpRegistry(app.services.store, app.services.clock);
  assert.deepEqual(digestWarnings(registry.check(withOaepDigest(SHA1)).warnings), []);
  assert.deepEqual(digestWarnings(registry.check(sp.metadataXml).warnings), []);
  const alsoPlain = withOaepDigest(SHA256).replace('</EncryptionMethod>', `</EncryptionMethod><EncryptionMethod Algorithm="${OAEP}"/>`);
  assert.deepEqual(digestWarnings(registry.check(alsoPlain).warnings), []);
});
