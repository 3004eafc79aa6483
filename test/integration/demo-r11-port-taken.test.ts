import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/free-port.ts';
import { captureOutput, killChild, waitForExit } from '../helpers/child-exit.ts';

test('npm run demo with a sample app port already taken stops with a message naming the port, and stops its IdP', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-demo-taken-'));
  const taken = createServer();
  const spPort = await freePort();
  await new Promise<void>((resolve) => taken.listen(spPort, '127.0.0.1', resolve));
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'scripts/demo/run.ts'], {
    env: { ...process.env, DEMO_IDP_PORT: String(await freePort()), DEMO_SP_PORT: String(spPort), DEMO_RP_PORT: String(await freePort()), DEMO_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const output = captureOutput(child);
  try {
    const code = await waitForExit(child, { what: 'npm run demo', output, group: true });
    assert.equal(code, 1, output());
    assert.match(output(), new RegExp(`Demo: the SAML sample app cannot listen on 127\\.0\\.0\\.1:${spPort}: .*EADDRINUSE.*DEMO_SP_PORT`));
    assert.doesNotMatch(output(), /Demo ready/, 'no "ready" with a dead sample app');
  } finally {
    await killChild(child, { group: true });
    taken.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
