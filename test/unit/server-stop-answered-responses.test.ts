import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { serverStop, type StopParts } from '../../src/server-stop.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * serverStop keeps the requests under way to tell them, at a stop, to close their connections; an
 * answered one must be let go, or a server up for months keeps every response it ever gave.
 */
test('a response answered and closed before any stop is not kept by the stop', async () => {
  const server = createServer((_req, res) => res.end('ok'));
  serverStop({ server, services: {} as StopParts['services'], serverLock: () => undefined, startupWrites: async () => undefined });
  const answered: WeakRef<ServerResponse>[] = [];
  server.on('request', (_req, res: ServerResponse) => {
    answered.push(new WeakRef(res));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  try {
    for (let i = 0; i < 20; i++) {
      const req = request({ host: '127.0.0.1', port, path: '/', agent: false, headers: { connection: 'close' } });
      req.end();
      const [res] = (await once(req, 'response')) as [NodeJS.ReadableStream];
      res.resume();
      await once(res, 'end');
    }
    assert.equal(answered.length, 20);
    for (let round = 0; round < 10 && answered.some((ref) => ref.deref() !== undefined); round++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      gc();
    }
    // Not exactly none: the last response may still be on its way out of Node's own structures; kept by
    // the stop, all 20 would be.
    assert.ok(answered.filter((ref) => ref.deref() !== undefined).length <= 2, 'answered responses still held');
  } finally {
    server.close();
    server.closeAllConnections();
  }
});
