import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/core/secret-box.ts';
import { systemClock } from '../../src/core/clock.ts';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { parseConfig } from '../../src/config/load.ts';
import { retiredKeyHold } from '../../src/keys/retired-key-hold.ts';
import { removedSigningKeys, SIGNING_KEY_COLLECTION, signingKeys, type RemovedSigningKey, type SigningKeyRecord } from '../../src/keys/signing-keys.ts';
import type { Collection } from '../../src/store/store.ts';

const PUBLIC_URL = 'https://idp.example.org';

/**
 * `keys remove` is often the answer to an exposed key. If the removal were not remembered before the
 * key goes, a removal that stops in between (a full disk, a crash) would leave a key that is gone but
 * not known as removed, and an older export would publish it again without a word.
 */
test('keys remove whose record of the removal cannot be written fails and leaves the key in place', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-keys-remove-order-'));
  const box = new SecretBox(randomBytes(32));
  const store = await new LowdbStore(dataDir, systemClock, { sealer: journalSealer(box) }).open();
  try {
    const keys = signingKeys(store, box, systemClock, PUBLIC_URL);
    await keys.ensure();
    const waiting = await keys.addNext('RS256');
    const removed = removedSigningKeys(store);
    const failing: Collection<RemovedSigningKey> = { ...bound(removed), put: () => Promise.reject(new Error('ENOSPC: no space left on device')) };

    const hold = retiredKeyHold(parseConfig({ dataDir, server: { publicUrl: PUBLIC_URL } }));
    await assert.rejects(keys.remove(waiting.id, { hold, force: true, removedKeys: failing }), /ENOSPC/);

    const records = store.collection<SigningKeyRecord>(SIGNING_KEY_COLLECTION);
    assert.notEqual(await records.get(waiting.id), undefined, 'the key is still there, so a later removal can be remembered');
    assert.deepEqual(await removed.list(), []);
    assert.ok((await keys.all()).some((key) => key.id === waiting.id), 'and still published');
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

/** The collection's methods as plain functions, so that one of them can be swapped for a failing one. */
function bound<T extends { id: string }>(collection: Collection<T>): Collection<T> {
  return {
    get: (id) => collection.get(id),
    lookup: (key) => collection.lookup(key),
    list: () => collection.list(),
    put: (item) => collection.put(item),
    update: (id, change) => collection.update(id, change),
    remove: (id) => collection.remove(id),
  };
}
