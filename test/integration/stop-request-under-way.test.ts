import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/free-port.ts';
import { withoutSecretKey } from '../helpers/env.ts';
import { captureOutput, killChild, STOP_TIMEOUT_MS, waitForExit } from '../helpers/child-exit.ts';
import { ROOT } from '../helpers/node-process.ts';

/** Waits for `ready` (checked every 20 ms); fails with `output` after 30 s. */
async function until(what: string, ready: () => boolean, output: () => string): Promise<void> {
  for (const deadline = Date.now() + 30_000; !ready(); ) {
    if (Date.now() > deadline) throw new Error(`${what} not seen within 30 s:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What the server sent on the connection, and whether it has closed its side. */
function received(socket: Socket): { text: () => string; ended: () => boolean } {
  let text = '';
  let ended = false;
  socket.on('data', (chunk) => (text += chunk.toString('latin1')));
  socket.once('end', () => (ended = true));
  socket.once('close', () => (ended = true));
  socket.on('error', () => undefined);
  return { text: () => text, ended: () => ended };
}

/** Resolves once the server no longer accepts connections: its drain has begun. */
async function listenerClosed(port: number, output: () => string): Promise<void> {
  for (const deadline = Date.now() + 30_000; ; ) {
    const refused = await new Promise<boolean>((resolve) => {
      const probe = connect(port, '127.0.0.1');
      probe.once('connect', () => (probe.destroy(), resolve(false)));
      probe.once('error', () => resolve(true));
    });
    if (refused) return;
    if (Date.now() > deadline) throw new Error(`the server still accepted connections 30 s into its stop:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The head of the last answer on the connection. */
const lastHead = (text: string) => text.slice(text.lastIndexOf('HTTP/1.1 '));
/** How many final answers (not 100 Continue) the connection has carried. */
const finalAnswers = (text: string) => text.match(/HTTP\/1\.1 [2-5]\d\d /g)?.length ?? 0;

test('requests under way when the stop begins are answered with Connection: close, and their connections are closed after them, so the stop does not wait on the clients', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-stop-under-way-'));
  const port = await freePort();
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/main.ts'], { cwd: ROOT, env: { ...withoutSecretKey(process.env), STEPGATE_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  const sockets: Socket[] = [];
  try {
    await until('the server listening', () => output().includes('"msg":"listening"'), output);
    // One keep-alive connection that has carried a request and has the head of its next one on the way.
    const slowHead = connect(port, '127.0.0.1');
    sockets.push(slowHead);
    const slowHeadAnswers = received(slowHead);
    slowHead.write(`GET /healthz HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`);
    await until('the first answer', () => /\r\n\r\n/.test(slowHeadAnswers.text()), slowHeadAnswers.text);
    slowHead.write(`GET /healthz HTTP/1.1\r\nHost: localhost:${port}\r\n`);
    // One form whose body is still on its way: the server has the request (it said 100 Continue) and
    // waits for the rest before answering, as for a sign-in form posted over a slow link.
    const slowBody = connect(port, '127.0.0.1');
    sockets.push(slowBody);
    const slowBodyAnswer = received(slowBody);
    const body = 'username=demo&password=not-the-password';
    slowBody.write(`POST /login HTTP/1.1\r\nHost: localhost:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
    await until('100 Continue', () => slowBodyAnswer.text().includes('100 Continue'), slowBodyAnswer.text);
    child.kill('SIGTERM');
    await listenerClosed(port, output);
    slowBody.write(body);
    slowHead.write('\r\n');
    // The connection of the head on its way carried one answer before: its answer is the second.
    for (const [what, answer, answers] of [['the form', slowBodyAnswer, 1], ['the request whose head was on its way', slowHeadAnswers, 2]] as const) {
      await until(`the answer to ${what}`, () => finalAnswers(answer.text()) === answers && /\r\n\r\n/.test(lastHead(answer.text())), () => `${answer.text()}\n${output()}`);
      assert.match(lastHead(answer.text()), /^connection: close\r$/im, `${what} was answered with keep-alive, so the drain waits for the client:\n${lastHead(answer.text())}`);
      await until(`the server closing the connection of ${what}`, answer.ended, () => `${answer.text()}\n${output()}`);
    }
    assert.equal(await waitForExit(child, { what: 'the server (SIGTERM)', output, timeoutMs: STOP_TIMEOUT_MS }), 0, output());
    assert.doesNotMatch(output(), /server\.drain-cut-off/, 'the stop ended once the answers were sent, not at the drain cut-off');
    assert.match(output(), /"event":"server\.stopped"/);
  } finally {
    for (const socket of sockets) socket.destroy();
    await killChild(child);
    await rm(dataDir, { recursive: true, force: true });
  }
});
