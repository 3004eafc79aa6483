import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { boot, type Booted } from '../helpers/boot.ts';

let app: Booted;

before(async () => {
  app = await boot();
});
after(() => app?.close());

interface Case {
  name: string;
  path: string;
  status: number;
  code: string;
  init?: RequestInit;
}

const form = (body: string | Blob, headers: Record<string, string> = {}): RequestInit => ({ method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });

const CASES: Case[] = [
  { name: 'a path that does not percent-decode (router parameter)', path: '/login/%E0%A4%A', status: 400, code: 'BAD_REQUEST' },
  { name: 'the same under a POST route', path: '/login/%E0%A4%A/password', status: 400, code: 'BAD_REQUEST', init: form('password=x') },
  { name: 'a missing asset', path: '/assets/no-such-file.css', status: 404, code: 'NOT_FOUND' },
  { name: 'a form body over the limit', path: '/logout', status: 413, code: 'REQUEST_TOO_LARGE', init: form(`a=${'x'.repeat(2 * 1024 * 1024)}`) },
  { name: 'too many form fields', path: '/logout', status: 413, code: 'REQUEST_TOO_LARGE', init: form(Array.from({ length: 60 }, (_, i) => `f${i}=1`).join('&')) },
  { name: 'a charset the form parser does not read', path: '/logout', status: 415, code: 'BAD_REQUEST', init: form('a=1', { 'content-type': 'application/x-www-form-urlencoded; charset=koi8-r' }) },
  { name: 'a content encoding the form parser does not read', path: '/logout', status: 415, code: 'BAD_REQUEST', init: form('a=1', { 'content-encoding': 'compress' }) },
  { name: 'a gzip body that is not gzip', path: '/logout', status: 400, code: 'BAD_REQUEST', init: form(new Blob([gzipSync('a=1').subarray(0, 8)]), { 'content-encoding': 'gzip' }) },
];

for (const { name, path, status, code, init } of CASES) {
  test(`${name}: ${status}, a page without internals, one warning with a code and no stack`, async () => {
    const mark = app.logs.length;
    const response = await fetch(`${app.url}${path}`, { ...init, headers: { accept: 'text/html', ...(init?.headers as Record<string, string>) } });
    const body = await response.text();
    assert.equal(response.status, status, body.slice(0, 300));
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    assert.doesNotMatch(body, /URIError|at .*\.(js|ts):\d+|node_modules/, 'no internals on the page');
    const lines = app.logs.slice(mark).filter((line) => line.code !== undefined);
    assert.deepEqual(lines.map((line) => [line.level, line.code, line.status]), [[40, code, status]]);
    assert.equal(lines[0]!.err, undefined, 'no stack logged');
    assert.ok(!app.logs.slice(mark).some((line) => (line.level as number) >= 50), 'nothing at error level');
  });
}

test('JSON clients get the same status and code', async () => {
  const response = await fetch(`${app.url}/login/%E0%A4%A`, { headers: { accept: 'application/json' } });
  assert.equal(response.status, 400);
  assert.equal(((await response.json()) as { error: string }).error, 'BAD_REQUEST');
});

test('a form body declared larger than the limit is refused before it is sent, and the connection closed', async () => {
  const { connect } = await import('node:net');
  const { port } = new URL(app.url);
  const socket = connect(Number(port), '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk) => (answer += chunk));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(`POST /logout HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 99999999\r\n\r\na=`);
  try {
    const waiting = new Promise<'no answer'>((resolve) => setTimeout(() => resolve('no answer'), 5_000).unref());
    assert.notEqual(await Promise.race([closed, waiting]), 'no answer', 'answered and closed without the 100 MB body');
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /The request is too large for this service\./);
  } finally {
    socket.destroy();
  }
});

test('a flood of one error writes its first 100 warnings in a minute in full and counts the rest; other errors are still written', async () => {
  // Of one kind: the code and its reason (a missing asset earlier in this file is NOT_FOUND with a reason of its own).
  const notFound = () => app.logs.filter((line) => line.code === 'NOT_FOUND' && (line.detail as { reason?: string } | undefined)?.reason === undefined).length;
  for (let i = 0; i < 15; i++) await Promise.all(Array.from({ length: 10 }, () => fetch(`${app.url}/no-such-page`).then((response) => response.arrayBuffer())));
  assert.equal(notFound(), 100);
  const mark = app.logs.length;
  assert.equal((await fetch(`${app.url}/login/%E0%A4%A`)).status, 400);
  assert.deepEqual(app.logs.slice(mark).filter((line) => line.code !== undefined).map((line) => line.code), ['BAD_REQUEST']);
});

test("an error that got past Stepgate's error handler would meet Express's last-resort handler in production mode, which puts no stack trace on the page", () => {
  // npm start sets no NODE_ENV, and Express's default ("development") writes err.stack into the page.
  assert.equal(app.app.get('env'), 'production');
});
