import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { boot, type Booted } from '../helpers/boot.ts';
import { createSpRegistry } from '../../src/saml/sp-registry.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/saml/sp-valid.xml', import.meta.url));
let app: Booted;

before(async () => {
  app = await boot();
});
after(() => app?.close());

test('new metadata without AuthnRequestsSigned does not switch off required request signatures, unless asked to', async () => {
  const signed = await readFile(FIXTURE, 'utf8');
  assert.match(signed, /AuthnRequestsSigned="true"/);
  const unsigned = signed.replace('AuthnRequestsSigned="true"', 'AuthnRequestsSigned="false"');
  const registry = createSpRegistry(app.services.store, app.services.clock);
  const { record } = await registry.add(signed);
  assert.equal(record.settings.requireSignedRequests, true);

  const kept = await registry.update(record.id, { metadataXml: unsigned });
  assert.equal(kept.record.settings.requireSignedRequests, true, 'the SP must still sign');
  assert.ok(kept.warnings.some((warning) => /requests from this SP must still be signed \(add --allow-unsigned-requests/.test(warning)), kept.warnings.join('\n'));

  const lowered = await registry.update(record.id, { metadataXml: unsigned, allowUnsignedRequests: true });
  assert.equal(lowered.record.settings.requireSignedRequests, false, 'lowered when the administrator says so');
  assert.equal((await registry.update(record.id, { metadataXml: signed })).record.settings.requireSignedRequests, true, 'raised by metadata that asks for it');
});

test('new metadata that keeps requests required but drops the signing certificate is refused: no request could pass', async () => {
  const signed = (await readFile(FIXTURE, 'utf8')).replace('entityID="', 'entityID="https://nocert.example/');
  const entityId = /entityID="([^"]+)"/.exec(signed)![1]!;
  const withoutSigningKey = signed.replace('AuthnRequestsSigned="true"', 'AuthnRequestsSigned="false"').replace(/<md:KeyDescriptor use="signing">[\s\S]*?<\/md:KeyDescriptor>/, '');
  assert.doesNotMatch(withoutSigningKey, /use="signing"/);
  const registry = createSpRegistry(app.services.store, app.services.clock);
  await registry.add(signed);
  await assert.rejects(registry.update(entityId, { metadataXml: withoutSigningKey }), /no signing certificate to check them with: every request would be refused/);
  assert.equal((await registry.get(entityId))!.signingCertificates.length > 0, true, 'nothing written');
  const lowered = await registry.update(entityId, { metadataXml: withoutSigningKey, allowUnsignedRequests: true });
  assert.equal(lowered.record.settings.requireSignedRequests, false);
});

test('new metadata asking for signed assertions makes Stepgate sign them, where only the response was signed', async () => {
  const metadata = (await readFile(FIXTURE, 'utf8')).replace('entityID="', 'entityID="https://assertions.example/');
  const entityId = /entityID="([^"]+)"/.exec(metadata)![1]!;
  const registry = createSpRegistry(app.services.store, app.services.clock);
  await registry.add(metadata.replace('WantAssertionsSigned="true"', 'WantAssertionsSigned="false"'), { sign: 'response' });
  assert.equal((await registry.get(entityId))!.settings.wantAssertionsSigned, false);
  const raised = await registry.update(entityId, { metadataXml: metadata });
  assert.equal(raised.record.settings.wantAssertionsSigned, true);
  assert.equal(raised.record.settings.wantResponseSigned, true, 'the response stays signed');
  assert.ok(raised.warnings.some((warning) => /WantAssertionsSigned="true": assertions are signed from now on/.test(warning)), raised.warnings.join('\n'));
});
