import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { boot } from '../helpers/boot.ts';
import { healthRoutes } from '../../src/http/health-routes.ts';

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

// README: "a full disk fails the check within 5 s". The journal probe's short line still fitted into
// the slack of the journal's last block on a full file system, and /readyz answered 200 for 160 s (a
// full 3 MB tmpfs) while sign-ins failed with ENOSPC.
test('/readyz fails when the data directory has less free space than sign-ins need, though the journal probe still fits', async () => {
  const app = await boot();
  const warnings: Array<Record<string, unknown>> = [];
  const probed = express();
  probed.use((req, _res, next) => ((req as unknown as { log: unknown }).log = { warn: (fields: Record<string, unknown>) => warnings.push(fields) }, next()));
  probed.use(healthRoutes(app.services, { minFreeBytes: Number.MAX_SAFE_INTEGER }));
  const server = probed.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    assert.equal((await fetch(`${app.url}/readyz`)).status, 200, 'the test machine has room');
    const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
    assert.equal(answer.status, 503);
    assert.deepEqual(await answer.json(), { status: 'not-ready', checks: { store: 'unavailable', directory: 'ok' } });
    assert.match(String(warnings[0]?.error), /file system of the data directory is full: \d+ bytes free/);
  } finally {
    server.close();
    await app.close();
  }
});
