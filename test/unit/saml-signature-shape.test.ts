import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { signAuthnRequestPost } from '@node-saml/node-saml/lib/saml-post-signing.js';
import { assertSignatureCoversRoot } from '../../src/saml/signature-shape.ts';
import { AppError } from '../../src/core/errors.ts';

const PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const REQUEST = `<samlp:AuthnRequest xmlns:samlp="${PROTOCOL}" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_req1" Version="2.0" IssueInstant="2026-11-22T10:00:00Z" Destination="https://idp.test/saml/sso"><saml:Issuer>https://sp.test/metadata</saml:Issuer><samlp:NameIDPolicy AllowCreate="true"/></samlp:AuthnRequest>`;

/**
 * Stepgate's own structural check, run after samlify's cryptographic verification. These documents
 * are not re-signed after tampering: the check must refuse them on shape alone.
 */
describe('signature shape check (signature-wrapping defence)', () => {
  let signed: string;
  const parse = (xml: string) => new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;
  const serialize = (doc: Document) => new XMLSerializer().serializeToString(doc as never);
  const signatureOf = (doc: Document) => doc.getElementsByTagNameNS(DSIG, 'Signature')[0]!;
  const wrapperWith = (doc: Document, ...nodes: Node[]) => {
    const extensions = doc.createElementNS(PROTOCOL, 'samlp:Extensions');
    const wrapper = doc.createElementNS('urn:example:evil', 'evil:Wrapper');
    for (const node of nodes) wrapper.appendChild(node);
    extensions.appendChild(wrapper);
    return extensions;
  };

  function refusedFor(doc: Document, reason: string): void {
    assert.throws(() => assertSignatureCoversRoot(parse(serialize(doc))), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'SAML_SIGNATURE_INVALID');
      assert.equal(error.detail?.reason, reason);
      return true;
    });
  }

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stepgate-shape-'));
    try {
      await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=sp.test']);
      signed = signAuthnRequestPost(REQUEST, { privateKey: await readFile(join(dir, 'k.pem'), 'utf8'), publicCert: await readFile(join(dir, 'c.pem'), 'utf8'), signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('accepts a signature over the root, enveloped + exc-c14n, SHA-256', () => {
    assertSignatureCoversRoot(parse(signed));
  });

  test('XSW: the signed request wrapped in Extensions under a forged root that carries its signature', () => {
    const forged = parse(signed);
    const original = forged.importNode(parse(signed).documentElement, true) as Element;
    original.removeChild(original.getElementsByTagNameNS(DSIG, 'Signature')[0]!);
    forged.documentElement.setAttribute('ID', '_forged');
    forged.documentElement.insertBefore(wrapperWith(forged, original), signatureOf(forged).nextSibling);
    refusedFor(forged, 'reference-not-root');
  });

  test('a duplicated signature', () => {
    const doc = parse(signed);
    doc.documentElement.insertBefore(wrapperWith(doc, signatureOf(doc).cloneNode(true)), signatureOf(doc).nextSibling);
    refusedFor(doc, 'signature-count');
  });

  test('the signature moved below the root', () => {
    const doc = parse(signed);
    const signature = signatureOf(doc);
    doc.documentElement.removeChild(signature);
    doc.documentElement.appendChild(wrapperWith(doc, signature));
    refusedFor(doc, 'signature-not-child-of-root');
  });

  test('a second, unsigned request with the same ID inserted', () => {
    const doc = parse(signed);
    const copy = doc.documentElement.cloneNode(true) as Element;
    copy.removeChild(copy.getElementsByTagNameNS(DSIG, 'Signature')[0]!);
    doc.documentElement.insertBefore(wrapperWith(doc, copy), signatureOf(doc).nextSibling);
    refusedFor(doc, 'duplicate-id');
  });

  test('a root without ID, a second Reference, foreign or repeated transforms, SHA-1', () => {
    const noId = parse(signed);
    noId.documentElement.removeAttribute('ID');
    refusedFor(noId, 'root-without-id');

    const twoReferences = parse(signed);
    const reference = twoReferences.getElementsByTagNameNS(DSIG, 'Reference')[0]!;
    reference.parentNode!.appendChild(reference.cloneNode(true));
    refusedFor(twoReferences, 'reference-count');

    const xpathTransform = parse(signed);
    const transform = xpathTransform.getElementsByTagNameNS(DSIG, 'Transform')[0]!.cloneNode(true) as Element;
    transform.setAttribute('Algorithm', 'http://www.w3.org/TR/1999/REC-xpath-19991116');
    xpathTransform.getElementsByTagNameNS(DSIG, 'Transforms')[0]!.appendChild(transform);
    refusedFor(xpathTransform, 'transforms');

    // Each transform makes xml-crypto parse and canonicalise the whole message once more, before any
    // key is tried: exc-c14n listed 300 times in a 51 KB request held the server for 5.4 s.
    for (const repeated of ['http://www.w3.org/2001/10/xml-exc-c14n#', 'http://www.w3.org/2000/09/xmldsig#enveloped-signature']) {
      const doc = parse(signed);
      const transforms = doc.getElementsByTagNameNS(DSIG, 'Transforms')[0]!;
      const original = [0, 1].map((index) => transforms.getElementsByTagNameNS(DSIG, 'Transform')[index]!).find((candidate) => candidate.getAttribute('Algorithm') === repeated)!;
      transforms.appendChild(original.cloneNode(true));
      refusedFor(doc, 'transforms');
    }

    const sha1 = parse(signed);
    sha1.getElementsByTagNameNS(DSIG, 'DigestMethod')[0]!.setAttribute('Algorithm', 'http://www.w3.org/2000/09/xmldsig#sha1');
    refusedFor(sha1, 'digest-algorithm');

    const rsaSha1 = parse(signed);
    rsaSha1.getElementsByTagNameNS(DSIG, 'SignatureMethod')[0]!.setAttribute('Algorithm', 'http://www.w3.org/2000/09/xmldsig#rsa-sha1');
    refusedFor(rsaSha1, 'signature-algorithm');
  });
});
