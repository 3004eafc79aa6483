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
import { createSpRegistry } from '../../src/saml/sp-registry.ts';
import type { Store } from '../../src/store/store.ts';

/**
 * SP metadata is read as UTF-8. A file in another encoding used to be decoded as UTF-8 all the same:
 * Latin-1's "é" became U+FFFD in the entityID that was registered (so the SP's requests, naming
 * "café", were from an unknown application), and a UTF-16 file was refused as "Start tag expected".
 * Both are refused now, saying what the encoding is and how to convert it, and nothing is written.
 */
const VALID = fileURLToPath(new URL('../fixtures/saml/sp-valid.xml', import.meta.url));
const WIKI = 'https://wiki.example.org/saml/metadata';
const CAFE = 'https://encoding.example.org/café/sp';

let dir: string;
let store: Store;
let valid: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-sp-encoding-'));
  store = await new LowdbStore(dir, systemClock, { sealer: testSealer() }).open();
  valid = (await readFile(VALID, 'utf8')).replace(`entityID="${WIKI}"`, `entityID="${CAFE}"`);
});
after(async () => {
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const spAdd = (file: string) => runSpCli(dir, store, ['sp', 'add', file, '--no-encrypt']);

const registered = async () => (await createSpRegistry(store, systemClock).list()).map((sp) => sp.id);

async function assertRefused(name: string, bytes: Buffer, message: RegExp): Promise<void> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  const { code, err } = await spAdd(file);
  assert.equal(code, 1, err);
  assert.match(err, message);
  assert.deepEqual(await registered(), [], 'nothing registered');
}

test('Latin-1 metadata is refused, naming its declared encoding, instead of registering an entityID with U+FFFD in it', async () => {
  const latin1 = Buffer.from(`<?xml version="1.0" encoding="ISO-8859-1"?>\n${valid}`, 'latin1');
  await assertRefused('latin1.xml', latin1, /is not UTF-8 text \(it says encoding="ISO-8859-1"\).*save it as UTF-8 \(e\.g\. iconv -f ISO-8859-1 -t UTF-8\)/);
});

test('UTF-16 metadata is refused as UTF-16, not as XML without a start tag', async () => {
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(valid, 'utf16le')]);
  await assertRefused('utf16.xml', utf16, /is UTF-16 text; Stepgate reads metadata as UTF-8: save it as UTF-8/);
});

test('UTF-16 metadata without a byte-order mark is refused as UTF-16 too, with the byte order to convert from, not as "not valid"', async () => {
  const le = Buffer.from(`<?xml version="1.0" encoding="UTF-16"?>\n${valid}`, 'utf16le');
  await assertRefused('utf16le.xml', le, /is UTF-16 text; Stepgate reads metadata as UTF-8: save it as UTF-8 \(e\.g\. iconv -f UTF-16LE -t UTF-8\)/);
  await assertRefused('utf16be.xml', Buffer.from(le).swap16(), /is UTF-16 text; Stepgate reads metadata as UTF-8: save it as UTF-8 \(e\.g\. iconv -f UTF-16BE -t UTF-8\)/);
});

test('the same metadata in UTF-8, with a byte-order mark, registers its entityID as written', async () => {
  const file = join(dir, 'utf8.xml');
  await writeFile(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(valid, 'utf8')]));
  const { code, err } = await spAdd(file);
  assert.equal(code, 0, err);
  assert.deepEqual(await registered(), [CAFE]);
});
