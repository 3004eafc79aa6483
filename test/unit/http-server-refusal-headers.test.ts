import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { pino } from 'pino';
import { createHttpServer } from '../../src/http/http-server.ts';

/** What the server answers on a new connection to `request`, once it closes the connection. */
async function answerTo(request: string, logger = pino({ level: 'silent' })): Promise<string> {
  const server = createHttpServer(logger);
  server.on('request', (_req, res) => res.end('reached the application'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const socket = connect(port, '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk) => (answer += chunk));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(request);
  try {
    const gaveUp = new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), 10_000).unref());
    assert.notEqual(await Promise.race([closed, gaveUp]), 'still open', 'the server answered and closed the connection');
    return answer;
  } finally {
    socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

// A cross-site page framed the 431 answer in Chromium (an iframe whose URL is over 16 KiB), while every other answer refuses framing.
const REFUSED = [
  { name: 'a request head over 16 KiB (431)', request: `GET /healthz?${'a'.repeat(17_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, status: 431 },
  { name: 'a request the parser cannot read (400)', request: 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', status: 400 },
  // Node answers an Expect it cannot meet itself; that answer never reached securityHeaders either.
  { name: 'an Expect other than 100-continue (417)', request: 'POST /logout HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 3\r\n\r\na=b', status: 417 },
];

for (const { name, request, status } of REFUSED) {
  test(`${name}: answered with the strict headers every other answer has (no framing, no sniffing, not stored)`, async () => {
    const answer = await answerTo(request);
    const [head = ''] = answer.split('\r\n\r\n');
    assert.match(head, new RegExp(`^HTTP/1\\.1 ${status} `));
    const headers = new Map(head.split('\r\n').slice(1).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    assert.equal(headers.get('x-frame-options'), 'DENY', head);
    assert.match(headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, head);
    assert.equal(headers.get('x-content-type-options'), 'nosniff', head);
    assert.equal(headers.get('cache-control'), 'no-store', head);
    assert.equal(headers.get('content-type'), 'text/plain; charset=utf-8', head);
  });
}

test('an Expect other than 100-continue is answered with Connection: close and a warning, even with no body to read', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const answer = await answerTo('GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n', logger);
  const [head = ''] = answer.split('\r\n\r\n');
  assert.match(head, /^HTTP\/1\.1 417 /);
  assert.match(head, /\r\nConnection: close(\r\n|$)/i, head);
  assert.doesNotMatch(answer, /reached the application/);
  assert.deepEqual(lines.map((line) => [line.status, (line.detail as { reason?: string } | undefined)?.reason]), [[417, 'expectation-failed']]);
});
