import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { runSpCli } from '../helpers/sp-cli.ts';
import { systemClock } from '../../src/core/clock.ts';
import type { Store } from '../../src/store/store.ts';

/**
 * An SP's metadata can say which attributes it cannot do without (AttributeConsumingService,
 * RequestedAttribute isRequired="true"; AWS's console requires its Role attributes). Stepgate's
 * attribute release is fixed, so such an SP registered without a word would refuse every sign-in:
 * `sp add` and `sp set --metadata` name the required attributes it does not send.
 */
const VALID = fileURLToPath(new URL('../fixtures/saml/sp-valid.xml', import.meta.url));
const WIKI = 'https://wiki.example.org/saml/metadata';
const ROLE = 'https://aws.amazon.com/SAML/Attributes/Role';

let dir: string;
let store: Store;
let valid: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-sp-required-'));
  store = await new LowdbStore(dir, systemClock, { sealer: testSealer() }).open();
  valid = await readFile(VALID, 'utf8');
});
after(async () => {
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** sp-valid.xml under its own entityID, asking for `requested` (RequestedAttribute elements). */
async function metadataRequesting(name: string, requested: string): Promise<string> {
  const file = join(dir, `${name}-${Math.random().toString(36).slice(2)}.xml`);
  const service = `<md:AttributeConsumingService index="1"><md:ServiceName xml:lang="en">${name}</md:ServiceName>${requested}</md:AttributeConsumingService>`;
  await writeFile(file, valid.replace(`entityID="${WIKI}"`, `entityID="https://${name}.example.org/sp"`).replace('</md:SPSSODescriptor>', `${service}</md:SPSSODescriptor>`));
  return file;
}

const attributeWarnings = (err: string) => err.split('\n').filter((line) => line.includes('as required that Stepgate does not send'));

test('sp add names required attributes that are not released, and registers the SP', async () => {
  const file = await metadataRequesting('console', `<md:RequestedAttribute isRequired="true" Name="${ROLE}" FriendlyName="RoleEntitlement"/><md:RequestedAttribute isRequired="false" Name="https://aws.amazon.com/SAML/Attributes/SessionDuration"/><md:RequestedAttribute isRequired="true" Name="urn:oid:0.9.2342.19200300.100.1.3" FriendlyName="mail"/>`);
  const { code, err } = await runSpCli(dir, store, ['sp', 'add', file, '--no-encrypt']);
  assert.equal(code, 0, err);
  const warnings = attributeWarnings(err);
  assert.equal(warnings.length, 1, err);
  assert.match(warnings[0]!, /does not send: RoleEntitlement \(https:\/\/aws\.amazon\.com\/SAML\/Attributes\/Role\)\. Stepgate sends uid \(urn:oid:0\.9\.2342\.19200300\.100\.1\.1\), mail/);
  assert.doesNotMatch(warnings[0]!, /SessionDuration/, 'optional attributes are not named');
});

test('required attributes Stepgate sends, by their Name, give no warning', async () => {
  const file = await metadataRequesting('gitlab', `<md:RequestedAttribute isRequired="true" Name="urn:oid:0.9.2342.19200300.100.1.3" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"/><md:RequestedAttribute isRequired="1" Name="urn:oid:2.16.840.1.113730.3.1.241"/>`);
  const { code, err } = await runSpCli(dir, store, ['sp', 'add', file, '--no-encrypt']);
  assert.equal(code, 0, err);
  assert.deepEqual(attributeWarnings(err), []);
});

test('sp set --metadata names them too', async () => {
  const { code: added } = await runSpCli(dir, store, ['sp', 'add', await metadataRequesting('later', ''), '--no-encrypt']);
  assert.equal(added, 0);
  const { code, err } = await runSpCli(dir, store, ['sp', 'set', 'https://later.example.org/sp', '--metadata', await metadataRequesting('later', `<md:RequestedAttribute isRequired="true" Name="email" FriendlyName="Email address"/>`)]);
  assert.equal(code, 0, err);
  assert.match(attributeWarnings(err)[0] ?? '', /does not send: Email address \(email\)/);
});
