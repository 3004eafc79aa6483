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
