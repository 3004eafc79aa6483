import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { holdServerLock } from '../../src/store/server-lock.ts';
import { testSealer } from '../helpers/journal-sealer.ts';

/**
 * `<root>/a/link/../data`, link pointing to `<root>/b/deep`: the kernel, following the link, reads it as
 * `<root>/b/data`; path.join, lexically, as `<root>/a/data`. Every part of the store must use one of them.
 */
async function linkThenDotDot(t: { after: (fn: () => Promise<void>) => void }): Promise<{ dataDir: string; lexical: string; throughLink: string }> {
  const root = await mkdtemp(join(tmpdir(), 'sg-link-dotdot-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'a'));
  await mkdir(join(root, 'b', 'deep'), { recursive: true });
  await symlink(join(root, 'b', 'deep'), join(root, 'a', 'link'));
  return { dataDir: `${root}/a/link/../data`, lexical: join(root, 'a', 'data'), throughLink: join(root, 'b', 'data') };
}

test('the store makes private the same data directory it writes its files in, for a dataDir with `..` after a link', async (t) => {
  const { dataDir, lexical, throughLink } = await linkThenDotDot(t);
  const store = await new LowdbStore(dataDir, { now: () => Date.now() }, { sealer: testSealer() }).open();
  await store.kv.set('k', 'v', 1, { ttlSeconds: 60 });
  await store.close();
  assert.equal(existsSync(throughLink), false, 'a second directory was made through the link');
  assert.equal(statSync(lexical).mode & 0o777, 0o700);
  assert.deepEqual((await readdir(lexical)).filter((name) => ['db.json', 'kv.journal', 'audit.log'].includes(name)).sort(), ['audit.log', 'db.json', 'kv.journal']);
});

test('server.lock is taken in the data directory it makes, for a dataDir with `..` after a link', async (t) => {
  const { dataDir, lexical, throughLink } = await linkThenDotDot(t);
  const lock = await holdServerLock(dataDir);
  try {
    assert.equal(lock.path, join(lexical, 'server.lock'));
    assert.equal(await lock.stillHeld(), true);
    assert.equal(existsSync(throughLink), false, 'a second directory was made through the link');
  } finally {
    await lock.release();
  }
  assert.equal(existsSync(join(lexical, 'server.lock')), false);
});
