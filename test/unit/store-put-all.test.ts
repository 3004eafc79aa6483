import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { testSealer } from '../helpers/journal-sealer.ts';

const clock = { now: () => Date.now() };
const sealer = testSealer();

async function withStore(run: (store: LowdbStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-put-all-'));
  const store = await new LowdbStore(dir, clock, { sealer }).open();
  try {
    await run(store, dir);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('putAll stores records of several collections in one write, inserting and replacing by id', () =>
  withStore(async (store, dir) => {
    await store.collection<{ id: string; v: number }>('a').put({ id: 'x', v: 1 });
    const records = [{ id: 'x', v: 2 }, { id: 'y', v: 3 }, { id: 'z', v: 4 }];
    await store.putAll([
      { collection: 'a', item: records[0]! },
      { collection: 'a', item: records[1]! },
      { collection: 'b', item: records[2]! },
    ]);
    assert.deepEqual((await store.collection('a').list()).map((record) => ({ ...record })), [{ id: 'x', v: 2 }, { id: 'y', v: 3 }]);
    assert.deepEqual(await store.collection('b').get('z'), { id: 'z', v: 4 });
    const other = await new LowdbStore(dir, clock, { sealer, owner: false }).open();
    assert.deepEqual(await other.collection('b').get('z'), { id: 'z', v: 4 }, 'another process reads the batch from the file');
    await other.close();
    const document = JSON.parse(await readFile(join(dir, 'db.json'), 'utf8'));
    assert.deepEqual(Object.keys(document.collections.a), ['x', 'y']);
  }));

test('putAll stores nothing when one record of the batch cannot be stored', () =>
  withStore(async (store, dir) => {
    const before = await readFile(join(dir, 'db.json'), 'utf8');
    await assert.rejects(
      store.putAll([
        { collection: 'a', item: { id: 'fine' } },
        { collection: 'a', item: { id: 'bad', callback: () => undefined } as { id: string } },
      ]),
      /could not be cloned/,
    );
    assert.equal(await readFile(join(dir, 'db.json'), 'utf8'), before, 'the file is unchanged');
    assert.equal(await store.collection('a').get('fine'), undefined, 'the first record is not half applied in memory either');
  }));
