import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LowdbCollections } from '../../src/store/lowdb-collections.ts';

/** Names every plain object answers to without holding them. */
const INHERITED = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

type Item = { id: string; label: string };

describe('lowdb collections: ids are own keys only (ids come from outside: a SAML Issuer, a query parameter)', () => {
  let dir: string;
  let collections: LowdbCollections;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stepgate-collection-keys-'));
    collections = new LowdbCollections(join(dir, 'db.json'));
    await collections.open();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('get and remove find nothing under an inherited name', async () => {
    const items = collections.collection<Item>('empty-of-them');
    await items.put({ id: 'real', label: 'a record' });
    for (const id of INHERITED) {
      assert.equal(await items.get(id), undefined, id);
      assert.equal(await items.remove(id), false, id);
    }
    assert.deepEqual(await items.list(), [{ id: 'real', label: 'a record' }]);
  });

  test('a record with such an id is stored as an ordinary record and changes no prototype', async () => {
    const items = collections.collection<Item>('named-like-them');
    for (const id of INHERITED) await items.put({ id, label: `record ${id}` });
    for (const id of INHERITED) assert.deepEqual(await items.get(id), { id, label: `record ${id}` });
    assert.deepEqual((await items.list()).map((item) => item.id).sort(), [...INHERITED].sort());
    const batched: Item = { id: '__proto__', label: 'batched' };
    await collections.putAll([{ collection: 'batch', item: batched }]);
    assert.deepEqual(await collections.collection<Item>('batch').get('__proto__'), { id: '__proto__', label: 'batched' });
    assert.equal(({} as Record<string, unknown>).label, undefined, 'Object.prototype untouched');

    const reopened = new LowdbCollections(join(dir, 'db.json'));
    await reopened.open();
    assert.deepEqual(await reopened.collection<Item>('named-like-them').get('__proto__'), { id: '__proto__', label: 'record __proto__' }, 'read back from the file');
    assert.equal(await reopened.collection<Item>('named-like-them').remove('__proto__'), true);
    assert.equal(await reopened.collection<Item>('named-like-them').get('__proto__'), undefined);
  });
});
