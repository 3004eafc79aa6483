import { test } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { boot } from '../helpers/boot.ts';
import { healthRoutes } from '../../src/http/health-routes.ts';
import type { Services } from '../../src/services.ts';

test('/readyz writes a line to the journal, as every sign-in must be able to', async () => {
  const app = await boot();
  try {
    const answer = await fetch(`${app.url}/readyz`);
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { status: 'ready', checks: { store: 'ok', directory: 'ok' } });
    assert.equal(await app.services.store.kv.count('health'), 1);
  } finally {
    await app.close();
  }
});

test('/readyz answers 503 in time when a check does not answer (a stalled store must not look ready)', async () => {
  const stalled = new Promise<void>(() => undefined);
  const services = { store: { startupCheck: () => stalled }, directory: { startupCheck: async () => undefined } } as unknown as Services;
  const app = express();
  app.use((req, _res, next) => ((req as unknown as { log: unknown }).log = { warn: () => undefined }, next()));
  app.use(healthRoutes(services, { checkLimitMs: 100 }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
    assert.equal(answer.status, 503);
    assert.deepEqual(await answer.json(), { status: 'not-ready', checks: { store: 'unavailable', directory: 'ok' } });
  } finally {
    server.close();
  }
});
