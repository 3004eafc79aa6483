import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withoutSecretKey } from '../helpers/env.ts';
import { freePort } from '../../scripts/free-port.ts';
import { captureOutput, waitForExit } from '../helpers/child-exit.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

test('server.trustedProxies ["0.0.0.0/0"] stops the start as a configuration error (exit 2) before anything is created', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-proxies-'));
  try {
    const config = join(dir, 'stepgate.config.json');
    const dataDir = join(dir, 'data');
    await writeFile(config, JSON.stringify({ server: { trustedProxies: ['0.0.0.0/0', '::/0'] } }));
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN], {
      env: { ...withoutSecretKey(process.env), STEPGATE_CONFIG: config, STEPGATE_DATA_DIR: dataDir, PORT: String(await freePort()) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = captureOutput(child);
    // A server that accepted the range would run on: killed after the deadline, and the test fails with its output.
    const code = await waitForExit(child, { what: 'a server with a /0 trusted proxy range', output });
    assert.equal(code, 2, output());
    assert.match(output(), /server\.trustedProxies\.0: must not be a \/0 range: trusting every address as a proxy lets any client choose its IP/);
    assert.match(output(), /server\.trustedProxies\.1: must not be a \/0 range/);
    assert.equal(existsSync(dataDir), false, 'no data directory or key was created');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
