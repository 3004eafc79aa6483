import { withoutSecretKey } from '../helpers/env.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestCa, type TestCa } from '../helpers/tls-ca.ts';
import { captureOutput, waitForExit } from '../helpers/child-exit.ts';

const CLI = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));
const METADATA = fileURLToPath(new URL('../fixtures/saml/sp-valid.xml', import.meta.url));
let ca: TestCa;
let server: Server;
let base: string;
let dataDir: string;

before(async () => {
  ca = await createTestCa();
  const metadata = await readFile(METADATA);
  server = createServer({ cert: await readFile(ca.certFile), key: await readFile(ca.keyFile) }, (req, res) => {
    if (req.url === '/metadata.xml') return void res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(metadata);
    if (req.url === '/moved') return void res.writeHead(302, { location: '/metadata.xml' }).end();
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://localhost:${(server.address() as { port: number }).port}`;
  dataDir = await mkdtemp(join(tmpdir(), 'stepgate-md-url-'));
});
after(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await rm(dataDir, { recursive: true, force: true });
  await ca?.cleanup();
});

/** `npm run cli -- sp add <url>` as its own process: NODE_EXTRA_CA_CERTS is read only at a process's start. */
async function spAdd(url: string, env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  // The data directory's own key: none of the environment's (an empty one is a config error).
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CLI, 'sp', 'add', url, '--no-encrypt'], {
    env: { ...withoutSecretKey(), STEPGATE_DATA_DIR: dataDir, NODE_EXTRA_CA_CERTS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = captureOutput(child);
  const code = await waitForExit(child, { what: `cli sp add ${url}`, output });
  return { code, output: output() };
}

test('metadata by https URL: an untrusted server is named with the way to trust a private CA; redirects are refused; a trusted URL registers', async () => {
  const untrusted = await spAdd(`${base}/metadata.xml`);
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.output, /not trusted; for a private CA, start the CLI with NODE_EXTRA_CA_CERTS=/);

  const moved = await spAdd(`${base}/moved`, { NODE_EXTRA_CA_CERTS: ca.caFile });
  assert.equal(moved.code, 1);
  assert.match(moved.output, /redirects \(HTTP 302 to \/metadata\.xml\); redirects are not followed/);

  const added = await spAdd(`${base}/metadata.xml`, { NODE_EXTRA_CA_CERTS: ca.caFile });
  assert.equal(added.code, 0, added.output);
  assert.match(added.output, /https:\/\/wiki\.example\.org\/saml\/metadata/);
});
