import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { pino } from 'pino';
import { createHttpServer, descriptorLimit, maxConnections, MAX_CONNECTIONS } from '../../src/http/http-server.ts';

test('a request whose body drips in is cut off at the request timeout with 408, not held for minutes', async () => {
  const server = createHttpServer(pino({ level: 'silent' }), { requestTimeoutMs: 500 });
  server.on('request', (req, res) => {
    req.resume();
    req.on('end', () => res.end('read'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const socket = connect(port, '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk) => (answer += chunk));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write('POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n');
  const drip = setInterval(() => socket.writable && socket.write('a'), 100);
  try {
    const gaveUp = new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), 10_000).unref());
    assert.notEqual(await Promise.race([closed, gaveUp]), 'still open', 'the server closed the connection');
    assert.match(answer, /^HTTP\/1\.1 408 /);
  } finally {
    clearInterval(drip);
    socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('the server holds at most a bounded number of connections, below the descriptor limit with room for its files', () => {
  const server = createHttpServer(pino({ level: 'silent' }));
  const limit = descriptorLimit();
  assert.ok(limit !== undefined, '/proc/self/limits read (Linux)');
  assert.equal(server.maxConnections, maxConnections(limit));
  assert.ok(server.maxConnections <= MAX_CONNECTIONS && server.maxConnections <= limit - 100, `${server.maxConnections} of ${limit}`);
  assert.deepEqual([256, 1_024, 20_000, 1_048_576, undefined].map(maxConnections), [156, 922, MAX_CONNECTIONS, MAX_CONNECTIONS, MAX_CONNECTIONS]);
});

test('refusals from many addresses at once write a bounded number of warnings in a minute, the first ones in full', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const server = createHttpServer(logger);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const garbled = (k: number) =>
    new Promise<void>((resolve) => {
      // One address each (127.0.1.x, 127.0.2.x …), so thinning per address writes every one of them.
      const socket = connect({ port, host: '127.0.0.1', localAddress: `127.0.${1 + Math.floor(k / 250)}.${1 + (k % 250)}` });
      socket.on('error', () => resolve()).on('close', () => resolve());
      socket.end('NOT-HTTP\r\n\r\n');
      socket.resume();
    });
  try {
    for (let k = 0; k < 150; k += 25) await Promise.all(Array.from({ length: 25 }, (_, i) => garbled(k + i)));
    const refusals = lines.filter((line) => line.code === 'BAD_REQUEST');
    assert.equal(refusals.length, 100, 'the first 100 in full');
    assert.equal(new Set(refusals.map((line) => line.ip)).size, 100);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
