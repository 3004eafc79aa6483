import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { samlSchemas, SchemaViolation } from '../../src/saml/schema-validator.ts';
import { successResponseXml } from '../../src/saml/response-xml.ts';
import { signCanonical } from '../../src/saml/canonical-signature.ts';
import { certificateBody, type IdpSigner } from '../../src/saml/idp-identity.ts';
import { DEFAULT_SAML_ATTRIBUTES, samlAttributes } from '../../src/rp/claims.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const AUTHN_REQUEST = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0" IssueInstant="2026-11-22T10:00:00Z" AssertionConsumerServiceURL="https://sp.example/acs"><saml:Issuer>https://sp.example/metadata</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" AllowCreate="true"/></samlp:AuthnRequest>`;

describe('SAML schema validation (libxml2-wasm, in-process)', () => {
  const schemas = samlSchemas();
  let signedResponse: string;

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stepgate-xsd-'));
    try {
      await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=idp.test']);
      const certificatePem = await readFile(join(dir, 'c.pem'), 'utf8');
      const signer: IdpSigner = { keyId: 'k', privateKey: createPrivateKey(await readFile(join(dir, 'k.pem'), 'utf8')), certificateBody: certificateBody(certificatePem) };
      const user = { id: 'u1', username: 'alice', name: 'Alice Example', email: 'alice@example.org', groups: ['staff', 'admins'], attributes: {} };
      const issueInstant = new Date();
      const xml = successResponseXml(
        { id: '_r1', issueInstant, issuer: 'https://idp.test/saml/metadata', destination: 'https://sp.example/acs', inResponseTo: '_a1' },
        { id: '_as1', audience: 'https://sp.example/metadata', nameId: { value: 'opaque-id', format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' }, notOnOrAfter: new Date(issueInstant.getTime() + 300_000), authnInstant: issueInstant, sessionIndex: 'idx', authnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport', attributes: samlAttributes(user, DEFAULT_SAML_ATTRIBUTES) },
      );
      signedResponse = await signCanonical(await signCanonical(xml, 'Assertion', signer), 'Response', signer);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('valid requests and signed responses pass', () => {
    schemas.validateProtocol(AUTHN_REQUEST);
    schemas.validateProtocol(signedResponse);
  });

  test('invalid documents are rejected with libxml2\'s reason', () => {
    assert.throws(() => schemas.validateProtocol(AUTHN_REQUEST.replace('<samlp:NameIDPolicy', '<samlp:Unknown/><samlp:NameIDPolicy')), (error: unknown) => error instanceof SchemaViolation && /Unknown': This element is not expected/.test(error.message));
    assert.throws(() => schemas.validateProtocol(AUTHN_REQUEST.replace(' ID="_a1"', '')), (error: unknown) => error instanceof SchemaViolation && /attribute 'ID' is required but missing/.test(error.message));
    assert.throws(() => schemas.validateProtocol(signedResponse.replace('Version="2.0"', 'Version="2.0" Bogus="1"')), SchemaViolation);
    assert.throws(() => schemas.validateProtocol('<samlp:AuthnRequest'), /not well-formed XML/);
    assert.throws(() => schemas.validateProtocol('<foo xmlns="urn:example"/>'), /No matching global declaration/);
  });

  test('5,000 validations: memory stays bounded (every document is disposed)', (t) => {
    const documents = [AUTHN_REQUEST, signedResponse];
    for (let index = 0; index < 200; index++) schemas.validateProtocol(documents[index % 2]!); // warm-up
    gc();
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    for (let index = 0; index < 5_000; index++) schemas.validateProtocol(documents[index % 2]!);
    const msPerDocument = (performance.now() - started) / 5_000;
    gc();
    const growthMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    t.diagnostic(`${msPerDocument.toFixed(3)} ms per document (AuthnRequest ${AUTHN_REQUEST.length} B / signed Response ${signedResponse.length} B), RSS growth ${growthMb.toFixed(1)} MB over 5,000`);
    // Speed is the bench's business (npm run bench); only the leak is asserted here.
    assert.ok(growthMb < 60, `RSS grew ${growthMb.toFixed(1)} MB`);
  });
});
