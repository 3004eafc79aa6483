import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { boot, type Booted } from '../helpers/boot.ts';
import { idpCertificates, xmlsecVerify } from '../helpers/saml-sp.ts';

const run = promisify(execFile);

/** The output of `openssl <args>` for a PEM given on stdin. */
async function openssl(args: string[], pem: string): Promise<string> {
  const child = run('openssl', args);
  child.child.stdin!.end(pem);
  return (await child).stdout;
}

let app: Booted;
before(async () => {
  app = await boot();
});
after(() => app?.close());

test('the generated SAML signing certificate has its extensions (RFC 5280 §4.1: no empty list) and still signs the metadata', async () => {
  const pem = (await app.services.keys.active('RS256')).certificatePem!;

  const text = await openssl(['x509', '-noout', '-text'], pem);
  assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/);
  const asn1 = await openssl(['asn1parse'], pem);
  assert.doesNotMatch(asn1, /cont \[ 3 \]\s*\n[^\n]*l=\s*0 cons: SEQUENCE/, 'no empty Extensions SEQUENCE');

  const certificate = new X509Certificate(pem);
  assert.equal(certificate.ca, false);
  assert.ok(certificate.verify(certificate.publicKey), 'self-signed signature verifies');
  assert.ok((await idpCertificates(app.url)).includes(certificate.toString()), 'published in the metadata');
  const metadata = await (await fetch(`${app.url}/saml/metadata`)).text();
  const verified = await xmlsecVerify(metadata, pem, { idAttributes: ['urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor'] });
  assert.ok(verified.ok, verified.output);
});
