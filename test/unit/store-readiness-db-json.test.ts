import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { withTempDir } from '../helpers/temp-dir.ts';

// db.json is re-read at most once a second for the records; the readiness check went through the same
// cache, so with db.json gone or unreadable /readyz answered 200 for checks within a second of any
// read (under traffic, most of them) while the sign-ins that re-read the file got 500.
const clock = { now: () => Date.now() };

test('the readiness check reads db.json as it is now, not the copy held for a second', () =>
  withTempDir('stepgate-ready-db-', async (dataDir) => {
    const store = await new LowdbStore(dataDir, clock, { sealer: testSealer() }).open();
    try {
      await store.startupCheck();
      await rm(join(dataDir, 'db.json'));
      await mkdir(join(dataDir, 'db.json')); // a file replaced by a directory: an I/O error on every read
      await assert.rejects(store.startupCheck(), /db\.json/);
      await assert.rejects(store.startupCheck(), /db\.json/, 'and again: a failed read is not taken as a fresh one');
      await rm(join(dataDir, 'db.json'), { recursive: true });
      await assert.rejects(store.startupCheck(), { code: 'ENOENT' });
    } finally {
      await store.close();
    }
  }));
