import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { TransactionStore } from '../../src/login/transaction.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { request } from '../helpers/login-request.ts';

let now = Date.parse('2026-11-23T10:00:00Z');
const clock = { now: () => now };
let dir: string;
let kv: JournalKeyValue;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-tx-remembered-'));
  kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer: testSealer() });
  await kv.open();
});
after(async () => {
  await kv.close();
  await rm(dir, { recursive: true, force: true });
});

test('the records kept to tell an expired sign-in where to go back are bounded: the oldest are forgotten first', async () => {
  const transactions = new TransactionStore(kv, clock, { maxRemembered: 3 });
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await transactions.create(request({ rpName: `App ${i}` }))).id);
  now += 6 * 60_000; // past the life of an unused start
  const told = await Promise.all(ids.map(async (id) => (await transactions.expired(id))?.request.rpName));
  assert.deepEqual(told, [undefined, undefined, 'App 2', 'App 3', 'App 4']);
});

test('a finished sign-in is remembered as finished within the same bound: the oldest record is forgotten first, finished or not', async () => {
  const transactions = new TransactionStore(kv, clock, { maxRemembered: 2 });
  const finished = await transactions.create(request({ rpName: 'Finished' }));
  const kept = await transactions.create(request({ rpName: 'Kept' }));
  await transactions.consume(finished.id);
  assert.deepEqual((await transactions.expired(finished.id))?.finished, {}, 'finished, refused or cancelled: nobody signed in');
  const next = await transactions.create(request({ rpName: 'Next' }));
  now += 6 * 60_000;
  assert.deepEqual([(await transactions.expired(kept.id))?.request.rpName, (await transactions.expired(next.id))?.request.rpName, await transactions.expired(finished.id)], ['Kept', 'Next', undefined]);
});
