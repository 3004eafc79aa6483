import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/free-port.ts';
import { withoutSecretKey } from '../helpers/env.ts';
import { captureOutput, stopChild, waitForExit } from '../helpers/child-exit.ts';
import { startUntilBanner, ROOT } from '../helpers/node-process.ts';

const MAIN = join(ROOT, 'src/main.ts');

/**
 * audit.log replaced by a named pipe that is open for reading but never read, and already full: the
 * server's next audit write blocks for good, as a write to a hung disk or NFS mount does.
 */
function auditLogThatNeverDrains(dataDir: string): () => void {
  const path = join(dataDir, 'audit.log');
  execFileSync('rm', ['-f', path]);
  execFileSync('mkfifo', ['-m', '600', path]);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const filler = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  const block = Buffer.alloc(4096, 'x');
  try {
    for (;;) writeSync(filler, block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
  }
  closeSync(filler);
  return () => closeSync(reader);
}

test('a stop whose store write never ends ends after its time limit, naming the step in the log, instead of hanging until the service manager kills it', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-stuck-'));
  const env = { ...withoutSecretKey(process.env), STEPGATE_DATA_DIR: dataDir };
  let closeReader = () => {};
  try {
    await startUntilBanner({ ...env, PORT: String(await freePort()) });
    closeReader = auditLogThatNeverDrains(dataDir);
    const port = await freePort();
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN], { cwd: ROOT, env: { ...env, PORT: String(port), LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = captureOutput(child);
    try {
      for (const deadline = Date.now() + 30_000; !output().includes('OIDC discovery'); ) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `no banner:\n${output()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // One audited event (a SAML request refused as malformed): its write is the one that never ends. The
      // client gives up on the answer, so the stop does not wait the drain out for it.
      const gaveUp = AbortSignal.timeout(1_000);
      await fetch(`http://localhost:${port}/saml/sso?SAMLRequest=not-a-saml-request`, { signal: gaveUp }).catch(() => undefined);
      assert.ok(gaveUp.aborted, 'the request waited for the stuck write');
      await stopChild(child, { what: 'the server with a stuck audit write (SIGTERM)', output, timeoutMs: 60_000 });
      assert.equal(child.signalCode, 'SIGKILL', `process.exit would wait for the stuck write: ${output()}`);
      const stuck = output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { event?: string; step?: string; level: number })
        .find((line) => line.event === 'server.stop-stuck');
      assert.ok(stuck, `a fatal line names the stuck step:\n${output()}`);
      assert.equal(stuck.level, 60);
      assert.match(stuck.step ?? '', /closing the store/);
    } finally {
      if (child.exitCode === null) await waitForExit(child, { timeoutMs: 1 }).catch(() => undefined);
    }
  } finally {
    closeReader();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a clean stop says so in the log: server.stopping with the signal, then server.stopped once the lock is released', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-stop-'));
  try {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN], { cwd: ROOT, env: { ...withoutSecretKey(process.env), STEPGATE_DATA_DIR: dataDir, PORT: String(await freePort()), LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = captureOutput(child);
    for (const deadline = Date.now() + 30_000; !output().includes('"msg":"listening"'); ) {
      if (Date.now() > deadline || child.exitCode !== null) await stopChild(child, { output }).finally(() => assert.fail(`no start:\n${output()}`));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(await stopChild(child, { what: 'the server (SIGTERM)', output }), 0, output());
    const events = output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { event?: string; reason?: string });
    const stopping = events.findIndex((line) => line.event === 'server.stopping');
    assert.ok(stopping >= 0, output());
    assert.equal(events[stopping]!.reason, 'SIGTERM');
    assert.equal(events.at(-1)!.event, 'server.stopped', 'the last line says the stop finished');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
