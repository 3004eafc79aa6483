import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { boot } from '../helpers/boot.ts';

/** A clock the test moves: the readiness check's reuse window is measured on the services' clock. */
function movableClock() {
  let now = Date.now();
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const journalLines = async (dataDir: string) => (await readFile(join(dataDir, 'kv.journal'), 'utf8')).split('\n').filter(Boolean).length;

test('/readyz appends at most one journal line per few seconds, however often it is asked (a load balancer probes every second)', async () => {
  const clock = movableClock();
  const app = await boot({}, { clock });
  try {
    const before = await journalLines(app.dataDir);
    for (let i = 0; i < 30; i++) {
      const answer = await fetch(`${app.url}/readyz`);
      assert.equal(answer.status, 200);
      await answer.body?.cancel();
    }
    assert.equal((await journalLines(app.dataDir)) - before, 1, 'one line for 30 checks');
    clock.advance(6_000);
    assert.equal((await fetch(`${app.url}/readyz`)).status, 200);
    assert.equal((await journalLines(app.dataDir)) - before, 2, 'a new line once the answer is a few seconds old');
  } finally {
    await app.close();
  }
});

test('/readyz still fails within a few seconds when the journal cannot be written (a full disk)', async () => {
  const clock = movableClock();
  const app = await boot({}, { clock });
  try {
    assert.equal((await fetch(`${app.url}/readyz`)).status, 200);
    app.services.store.kv.set = async () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    clock.advance(6_000);
    const answer = await fetch(`${app.url}/readyz`);
    assert.equal(answer.status, 503);
    assert.deepEqual(await answer.json(), { status: 'not-ready', checks: { store: 'unavailable', directory: 'ok' } });
  } finally {
    await app.close();
  }
});

test('/readyz fails at once when the data directory is gone from under the server (removed, or its volume unmounted)', async () => {
  const app = await boot();
  try {
    assert.equal((await fetch(`${app.url}/readyz`)).status, 200);
    await rm(app.dataDir, { recursive: true, force: true });
    const answer = await fetch(`${app.url}/readyz`);
    assert.equal(answer.status, 503);
    assert.equal((await answer.json()).checks.store, 'unavailable');
  } finally {
    await app.close();
  }
});
