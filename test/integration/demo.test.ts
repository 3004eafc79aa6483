import { freePort } from '../../scripts/free-port.ts';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestBrowser } from '../helpers/browser.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { captureOutput, killChild, stopChild, waitForExit } from '../helpers/child-exit.ts';


describe('npm run demo', () => {
  let child: ChildProcess;
  let dataDir: string;
  let output = '';
  let ports: { idp: number; sp: number; rp: number };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'stepgate-demo-'));
    ports = { idp: await freePort(), sp: await freePort(), rp: await freePort() };
    child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'scripts/demo/run.ts'], {
      env: { ...process.env, DEMO_IDP_PORT: String(ports.idp), DEMO_SP_PORT: String(ports.sp), DEMO_RP_PORT: String(ports.rp), DEMO_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: should the demo die before it is ready, the IdP it started is killed with it (after()).
      detached: true,
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo not ready in 30 s:\n${output}`)), 30_000);
      child.stdout!.on('data', (chunk) => {
        output += chunk.toString();
        if (output.includes('Press Ctrl+C')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr!.on('data', (chunk) => (output += chunk.toString()));
      child.once('exit', (code) => reject(new Error(`demo exited with ${code}:\n${output}`)));
    });
  });

  after(async () => {
    try {
      // The demo may have exited already (it failed to start): then only its IdP, if any, is left to kill.
      if (child) await stopChild(child, { what: 'the demo (SIGTERM)', output: () => output });
    } finally {
      if (child) await killChild(child, { group: true });
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  const password = () => /Demo password: +(\S+)/.exec(output)![1]!;

  test('the SAML sample app signs the demo user in and shows the attributes', async () => {
    const browser = new TestBrowser();
    const login = await browser.get(`http://localhost:${ports.sp}/login`);
    assert.match(login.body, /Demo SAML app/);
    const postForm = await browser.submit(login, { username: 'demo', password: password() });
    const landed = await browser.submit(postForm);
    assert.match(landed.body, /signed in/);
    assert.match(landed.body, /demo@example\.org/);
  });

  test('the OIDC sample app signs the demo user in and shows the claims', async () => {
    const browser = new TestBrowser();
    const login = await browser.get(`http://localhost:${ports.rp}/login`);
    assert.match(login.body, /Demo OIDC app/);
    const landed = await browser.submit(login, { username: 'demo', password: password() });
    assert.match(landed.body, /signed in/);
    assert.match(landed.body, /preferred_username/);
    assert.match(landed.body, /demo@example\.org/);
  });

  // Last: it changes the SAML app's policy. node-saml asks for exactly PasswordProtectedTransport
  // unless told otherwise, which a sign-in with a second factor does not match.
  test('the SAML sample app still signs in once an administrator gives it the MFA policy', async () => {
    const cli = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/index.ts', 'sp', 'set', `http://localhost:${ports.sp}/metadata`, '--policy', 'permit-everyone-require-mfa'], {
      env: { ...process.env, STEPGATE_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const cliOutput = captureOutput(cli);
    assert.equal(await waitForExit(cli, { what: 'cli sp set', output: cliOutput }), 0, cliOutput());
    // The running IdP re-reads what the CLI writes within a second (lowdb-collections.ts).
    await sleep(1_100);

    const browser = new TestBrowser();
    const login = await browser.get(`http://localhost:${ports.sp}/login`);
    const setup = await browser.submit(login, { username: 'demo', password: password() });
    const secret = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(setup.body)?.[1];
    assert.ok(secret, `expected the authenticator setup page, got ${setup.status}:\n${setup.body.slice(0, 400)}`);
    const codes = await browser.submit(setup, { code: oathtoolTotp(secret, Date.now()) });
    assert.match(codes.body, /Your backup codes/);
    const postForm = await browser.submit(codes);
    const landed = await browser.submit(postForm);
    assert.match(landed.body, /signed in/, landed.body.slice(0, 600));
    assert.match(landed.body, /demo@example\.org/);
  });
});
