import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { pino } from 'pino';
import { createHttpServer } from '../../src/http/http-server.ts';

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
