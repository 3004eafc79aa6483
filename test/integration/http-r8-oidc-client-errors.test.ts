import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { boot, type Booted } from '../helpers/boot.ts';
import { until } from '../helpers/until.ts';

let app: Booted;

before(async () => {
  app = await boot();
});
after(() => app?.close());

type LogLine = Record<string, unknown>;

/** Opens a raw connection and sends a request head; `answer` collects what comes back. */
async function sendHead(head: string, target: Booted = app): Promise<{ socket: Socket; answer: () => string; closed: Promise<void> }> {
  const socket = connect(target.port, '127.0.0.1');
  await once(socket, 'connect');
  let answer = '';
  socket.on('data', (chunk) => (answer += chunk));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(head);
  return { socket, answer: () => answer, closed };
}

/**
 * A client that starts a form body and hangs up with a TCP reset: `Expect: 100-continue` tells when
 * the request has reached the application (Node answers 100 Continue as it hands the request over).
 */
async function resetMidBody(path: string, target: Booted = app): Promise<void> {
  const { socket, answer } = await sendHead(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n`, target);
  await until(async () => answer(), (sent) => sent.includes('100 Continue'), `100 Continue on ${path}`);
  socket.write('client_id=abc');
  socket.resetAndDestroy();
}

const koaLines = (since: number): LogLine[] => app.logs.slice(since).filter((line) => line.event === 'koa.error');
const errorLines = (since: number): LogLine[] => app.logs.slice(since).filter((line) => (line.level as number) >= 50);

test('a client that resets the connection mid-body on an oidc-provider endpoint: one warning with the request id, no stack, nothing at error level', async () => {
  for (const [path, event] of [['/oidc/token', 'grant.error'], ['/oidc/token/introspection', 'introspection.error'], ['/oidc/session/end/confirm', 'end_session_confirm.error']] as const) {
    const mark = app.logs.length;
    await resetMidBody(path);
    const lines = await until(async () => app.logs.slice(mark), (logged) => logged.some((line) => line.event === event) && logged.some((line) => line.event === 'koa.error'), `the log lines of the reset on ${path}`);
    const [line, ...more] = koaLines(mark);
    assert.deepEqual(more, [], path);
    assert.equal(line!.level, 40, `${path}: a warning`);
    assert.equal(line!.code, 'BAD_REQUEST', path);
    assert.equal(line!.path, path);
    assert.equal((line!.detail as { reason: string }).reason, 'request.aborted', path);
    assert.equal(line!.err, undefined, `${path}: no stack`);
    const refusal = lines.find((logged) => logged.event === event)!;
    assert.equal(typeof line!.reqId, 'string', `${path}: the request id`);
    assert.equal(line!.reqId, refusal.reqId, `${path}: the same request as oidc-provider's refusal`);
    assert.deepEqual(errorLines(mark), [], `${path}: nothing at error level`);
  }
});

test('a flood of such resets is thinned with the Express error handler\'s warnings: 100 of a kind a minute, then counted; other causes of the same code are still written', async () => {
  // A server of its own: its warning windows open with this flood, which takes seconds, not the minute a window lasts.
  const flooded = await boot();
  try {
    for (let batch = 0; batch < 15; batch++) await Promise.all(Array.from({ length: 10 }, () => resetMidBody('/oidc/token', flooded)));
    const written = (lines: LogLine[], event: string) => lines.filter((line) => line.event === event).length;
    await until(async () => flooded.logs, (logged) => written(logged, 'koa.error') >= 100 && written(logged, 'grant.error') >= 100, 'the first 100 warnings of each kind');
    // One more reset whose kind (introspection.error) is not used up: once it is logged, the flood before it has been.
    const introspection = written(flooded.logs, 'introspection.error');
    await resetMidBody('/oidc/token/introspection', flooded);
    await until(async () => flooded.logs, (logged) => written(logged, 'introspection.error') > introspection, 'the reset after the flood');
    assert.equal(written(flooded.logs, 'koa.error'), 100, 'client hang-ups: the first 100 this minute (BAD_REQUEST request.aborted)');
    assert.equal(written(flooded.logs, 'grant.error'), 100, 'oidc-provider\'s refusals of them: the first 100 this minute');
    assert.deepEqual(flooded.logs.filter((line) => (line.level as number) >= 50), []);
    const express = flooded.logs.length;
    assert.equal((await fetch(`${flooded.url}/login/%E0%A4%A`)).status, 400);
    assert.equal((await fetch(`${flooded.url}/no-such-page`)).status, 404);
    assert.deepEqual(flooded.logs.slice(express).filter((line) => line.code !== undefined).map((line) => line.code), ['BAD_REQUEST', 'NOT_FOUND'], 'the same budget, by code and reason: a flood of hang-ups does not silence a malformed path');
  } finally {
    await flooded.close();
  }
});

for (const path of ['/oidc/auth', '/oidc/session/end']) {
  test(`a form POST to ${path} declared larger than 8 KiB is refused (413) before its body is read, and the connection closed`, async () => {
    const mark = app.logs.length;
    const { socket, answer, closed } = await sendHead(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n`);
    try {
      const waiting = new Promise<'no answer'>((resolve) => setTimeout(() => resolve('no answer'), 5_000).unref());
      assert.notEqual(await Promise.race([closed, waiting]), 'no answer', 'answered and closed without the body, which never comes');
      assert.match(answer(), /^HTTP\/1\.1 413 /);
      assert.match(answer(), /\r\nConnection: close\r\n/i);
      assert.match(answer(), /The request is too large for this service\./);
    } finally {
      socket.destroy();
    }
    const lines = app.logs.slice(mark).filter((line) => line.code !== undefined);
    assert.deepEqual(lines.map((line) => [line.level, line.code, (line.detail as { reason?: string }).reason]), [[40, 'REQUEST_TOO_LARGE', 'declared-body-too-large']]);
  });
}
