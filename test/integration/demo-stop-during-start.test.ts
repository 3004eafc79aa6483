import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/free-port.ts';
import { captureOutput, killChild, running, STOP_TIMEOUT_MS, waitForExit } from '../helpers/child-exit.ts';
import { ROOT } from '../helpers/node-process.ts';

/** `npm run demo` (its script, as npm runs it), in its own process group so that a failure leaves no IdP behind. */
async function startDemo(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
  const ports = { DEMO_IDP_PORT: await freePort(), DEMO_SP_PORT: await freePort(), DEMO_RP_PORT: await freePort() };
  return spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'scripts/demo/run.ts'], {
    cwd: ROOT,
    env: { ...env, ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])), DEMO_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
}

/** The IdP's pid, from the server.lock it holds once it has started. */
const idpPid = async (dataDir: string) => Number((await readFile(join(dataDir, 'server.lock'), 'utf8')).split(' ')[0]);

test('SIGTERM to the demo while it is still starting (its IdP up, the sample apps not yet) stops the IdP too', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-demo-stop-starting-'));
  // Its own temporary directory, so that what the demo leaves there can be seen.
  const demoTmp = await mkdtemp(join(tmpdir(), 'stepgate-demo-tmp-'));
  const demo = await startDemo(dataDir, { ...process.env, TMPDIR: demoTmp });
  const output = captureOutput(demo);
  try {
    // The IdP's first ready line: the demo goes on to make the sample apps' keys and register them.
    for (const deadline = Date.now() + 60_000; !output().includes('Stepgate is running'); ) {
      if (Date.now() > deadline || demo.exitCode !== null) assert.fail(`the demo's IdP did not start:\n${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const idp = await idpPid(dataDir);
    demo.kill('SIGTERM');
    const code = await waitForExit(demo, { what: 'the demo (SIGTERM)', output, timeoutMs: STOP_TIMEOUT_MS, group: true });
    assert.equal(code, 0, `the demo stopped itself, instead of being ended by the signal before it could stop its IdP (${demo.signalCode}):\n${output()}`);
    assert.ok(!running(idp), `the demo's IdP (pid ${idp}) was left running:\n${output()}`);
    assert.deepEqual(await readdir(demoTmp), [], 'the demo left temporary files behind (the sample app\'s key directory)');
  } finally {
    await killChild(demo, { group: true });
    await rm(dataDir, { recursive: true, force: true });
    await rm(demoTmp, { recursive: true, force: true });
  }
});

test('a demo whose start-up fails after its IdP started (no openssl on PATH) says why and stops the IdP', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-demo-no-openssl-'));
  const emptyPath = await mkdtemp(join(tmpdir(), 'stepgate-demo-path-'));
  const demo = await startDemo(dataDir, { ...process.env, PATH: emptyPath });
  const output = captureOutput(demo);
  try {
    const code = await waitForExit(demo, { what: 'the demo without openssl', output, group: true });
    assert.equal(code, 1, output());
    assert.match(output(), /Stepgate is running/, 'the IdP had started');
    await assert.rejects(readFile(join(dataDir, 'server.lock')), { code: 'ENOENT' }, `the demo's IdP was left running, holding server.lock:\n${output()}`);
    assert.match(output(), /Demo: openssl, which makes the SAML sample app's key and certificate, was not found on PATH/);
  } finally {
    await killChild(demo, { group: true });
    await rm(dataDir, { recursive: true, force: true });
    await rm(emptyPath, { recursive: true, force: true });
  }
});
