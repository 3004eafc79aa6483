import { withoutSecretKey } from '../helpers/env.ts';
import { freePort } from '../../scripts/free-port.ts';
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { TestBrowser } from '../helpers/browser.ts';
import { captureOutput, hasExited, killChild, stopChild, waitForExit } from '../helpers/child-exit.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const CLI = new URL('../../src/cli/index.ts', import.meta.url).pathname;

/**
 * This process's environment without a secret key: each start here uses the data directory's own
 * (secret.key). Set but empty, STEPGATE_SECRET_KEY would be refused as a configuration error.
 */
const INHERITED = withoutSecretKey(process.env);


/** Runs `npm start`'s command the way an admin would, and waits for its banner. */
async function start(dataDir: string, port: number, env: Record<string, string> = {}): Promise<{ child: ChildProcess; banner: string; output: () => string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN], {
    env: { ...INHERITED, STEPGATE_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = captureOutput(child);
  const ready = () => output().includes('OIDC discovery') && (output().includes('bootstrap') || output().includes('Directory:'));
  for (const deadline = Date.now() + 10_000; !ready(); ) {
    if (hasExited(child)) throw new Error(`exited with ${child.exitCode ?? child.signalCode}:\n${output()}`);
    if (Date.now() > deadline) {
      await killChild(child);
      throw new Error(`no banner within 10 s:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { child, banner: output(), output, ms: Date.now() - started };
}

/** A clean stop: SIGTERM, exit code 0 (a stop that hangs fails here with the server's output). */
async function stop(server: { child: ChildProcess; output: () => string }): Promise<void> {
  const code = await stopChild(server.child, { what: 'the server (SIGTERM)', output: server.output });
  assert.equal(code, 0, `a clean stop:\n${server.output()}`);
}

describe('npm start on embedded defaults', () => {
  test('serves health, SAML metadata and OIDC discovery within 10 s; prints the bootstrap secret only once', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-start-'));
    try {
      const port = await freePort();
      const first = await start(dataDir, port);
      const base = `http://localhost:${port}`;
      try {
        assert.match(first.banner, new RegExp(`SAML metadata: +${base}/saml/metadata`));
        assert.match(first.banner, /One-time admin bootstrap secret: \S{20,}/);
        assert.equal((await fetch(`${base}/healthz`)).status, 200);
        assert.equal((await fetch(`${base}/readyz`)).status, 200);
        const metadata = await fetch(`${base}/saml/metadata`);
        assert.equal(metadata.status, 200);
        assert.match(await metadata.text(), /IDPSSODescriptor/);
        const discovery = await fetch(`${base}/.well-known/openid-configuration`);
        assert.equal(discovery.status, 200);
        assert.equal((await discovery.json()).issuer, base);
        assert.equal(((await stat(join(dataDir, 'secret.key'))).mode & 0o077), 0, 'secret.key must be private');
      } finally {
        await stop(first);
      }
      // Another port: the one just freed may already be another test's outgoing connection's.
      const second = await start(dataDir, await freePort());
      await stop(second);
      assert.doesNotMatch(second.banner, /bootstrap secret/);
      assert.match(second.banner, /No administrator yet: create one at .*\/admin\/bootstrap .*\n.*npm run cli -- admin bootstrap-secret/, 'a later start says the bootstrap is still open');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('a CLI command run before the first start leaves a data directory the server starts on', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-start-'));
    try {
      const { code, output } = await run(CLI, ['user', 'add', 'early', '--email', 'early@example.org'], { ...INHERITED, STEPGATE_DATA_DIR: dataDir });
      assert.equal(code, 0, output);
      assert.match(output, new RegExp(`Note: ${dataDir} had no Stepgate data; it is a new, empty data directory now`), 'a typo in the path would not go unnoticed');
      assert.equal(((await stat(join(dataDir, 'secret.key'))).mode & 0o077), 0, 'the CLI made the key, private');
      const server = await start(dataDir, await freePort());
      await stop(server);
      assert.match(server.banner, /bootstrap secret/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('file paths given to the CLI are read from the folder the command was typed in (npm runs it in the project folder)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-start-'));
    const typedIn = await mkdtemp(join(tmpdir(), 'stepgate-typed-'));
    try {
      await writeFile(join(typedIn, 'pw'), 'Correct-horse-battery-42\n');
      // As npm runs it: in the project folder, with INIT_CWD naming where the command was typed.
      const asNpm = (...words: string[]) => run(CLI, words, { ...INHERITED, STEPGATE_DATA_DIR: dataDir, INIT_CWD: typedIn }, new URL('../..', import.meta.url).pathname);
      const added = await asNpm('user', 'add', 'typed', '--password-file', 'pw');
      assert.equal(added.code, 0, added.output);
      const missing = await asNpm('user', 'set-password', 'typed', '--password-file', 'nothing-here');
      assert.equal(missing.code, 2);
      assert.match(missing.output, new RegExp(`--password-file: cannot read ${join(typedIn, 'nothing-here')} \\(ENOENT\\)`), 'the full path, not a stack');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
      await rm(typedIn, { recursive: true, force: true });
    }
  });

  test('a reader that stops early (| head -1) ends the CLI quietly, and a change made is still audited', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-start-'));
    try {
      const env = { ...INHERITED, STEPGATE_DATA_DIR: dataDir };
      /** The reader has gone before the CLI writes its first line, as `head` has after its line. */
      const withClosedStdout = async (words: string[]) => {
        const cli = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CLI, ...words], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        cli.stdout!.destroy();
        const stderr = captureOutput(cli);
        const code = await waitForExit(cli, { what: `cli ${words.join(' ')}`, output: stderr });
        return { code, stderr: stderr() };
      };
      assert.equal((await run(CLI, ['user', 'add', 'early', '--email', 'early@example.org'], env)).code, 0);
      const audit = await withClosedStdout(['audit']);
      assert.deepEqual(audit, { code: 0, stderr: '' }, 'no EPIPE stack, exit 0');
      const added = await withClosedStdout(['user', 'add', 'late', '--email', 'late@example.org']);
      assert.deepEqual(added, { code: 0, stderr: '' });
      const events = await run(CLI, ['audit', '--user', 'late', '--json'], env);
      assert.deepEqual(events.output.trim().split('\n').map((line) => JSON.parse(line).type), ['user.add'], 'the command ran to its end');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('a data directory without its key refuses to start with a clear message', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-start-'));
    try {
      const port = await freePort();
      const first = await start(dataDir, port);
      await stop(first);
      await rm(join(dataDir, 'secret.key'));
      const { code, output } = await run(MAIN, [], { ...INHERITED, STEPGATE_DATA_DIR: dataDir, PORT: String(port) });
      assert.equal(code, 2);
      assert.match(output, /secretKey: the encryption key for stored secrets is missing/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('another key on existing data refuses to start, and the CLI refuses it, naming the setting', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-start-'));
    try {
      const port = await freePort();
      const first = await start(dataDir, port);
      await stop(first);
      const env = { ...INHERITED, STEPGATE_DATA_DIR: dataDir, PORT: String(port), STEPGATE_SECRET_KEY: randomBytes(32).toString('base64') };
      const expected = `secretKey: the key from secretKey (STEPGATE_SECRET_KEY) does not open the secrets stored in ${dataDir}. Set STEPGATE_SECRET_KEY or secretKeyFile to the key this data directory was created with.`;
      const server = await run(MAIN, [], env);
      assert.equal(server.code, 2, server.output);
      assert.equal(server.output, `Invalid configuration:\n  - ${expected}\n`);
      const keysBefore = await readFile(join(dataDir, 'db.json'), 'utf8');
      const cli = await run(CLI, ['keys', 'add', '--alg', 'ES256'], env);
      assert.equal(cli.code, 2, cli.output);
      assert.equal(cli.output, `Invalid configuration:\n  - ${expected}\n`);
      assert.equal(await readFile(join(dataDir, 'db.json'), 'utf8'), keysBefore, 'no key sealed with the wrong one is added');
      const listed = await run(CLI, ['user', 'list'], withoutSecretKey(env));
      assert.equal(listed.code, 0, `its own key still opens the directory: ${listed.output}`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/** Runs a script as its own process to its end: exit code and everything it wrote. */
async function run(script: string, words: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', script, ...words], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  const code = await waitForExit(child, { what: `node ${script} ${words.join(' ')}`, output });
  return { code, output: output() };
}

test('SIGHUP after log rotation: audit.log starts anew and the rotated file keeps every earlier event', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-rotate-'));
  try {
    const port = await freePort();
    const server = await start(dataDir, port);
    const { child } = server;
    const base = `http://localhost:${port}`;
    const auditLog = join(dataDir, 'audit.log');
    const lines = async (path: string) => (await readFile(path, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string });
    /** One audited event: a wrong bootstrap secret. */
    const wrongSecret = async () => {
      const browser = new TestBrowser();
      const page = await browser.get(`${base}/admin/bootstrap`);
      const password = 'Correct-horse-battery-42';
      assert.equal((await browser.submit(page, { secret: 'not-the-secret', username: 'operator', password, confirmPassword: password })).status, 403);
    };
    try {
      await wrongSecret();
      await rename(auditLog, `${auditLog}.1`);
      child.kill('SIGHUP');
      // The reopen creates the new file before anything is written to it.
      for (let waited = 0; !(await stat(auditLog).catch(() => undefined)) && waited < 300; waited++) await new Promise((resolve) => setTimeout(resolve, 50));
      await wrongSecret();
      assert.deepEqual((await lines(`${auditLog}.1`)).map((event) => event.type), ['admin.bootstrap'], 'the rotated file keeps the earlier event');
      assert.deepEqual((await lines(auditLog)).map((event) => event.type), ['admin.bootstrap'], 'the later one is in the new audit.log');
      assert.equal(child.exitCode, null, 'SIGHUP does not stop the server');
    } finally {
      await stop(server);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});


test('SIGTERM answers the request under way before the server stops', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-drain-'));
  try {
    const port = await freePort();
    const { child, output } = await start(dataDir, port);
    const { request } = await import('node:http');
    const body = 'secret=not-the-secret&username=operator';
    // The body is sent in two parts: the request is under way when SIGTERM arrives.
    const answer = new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/admin/bootstrap', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 100);
    });
    assert.equal(await answer, 403, 'the request got its answer (a CSRF refusal: it carries no token), not a cut connection');
    assert.equal(await waitForExit(child, { what: 'the server (SIGTERM)', output }), 0, 'and then the server stopped');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('an address it cannot listen on stops start-up naming the settings it came from', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-listen-'));
  try {
    await assert.rejects(start(dataDir, await freePort(), { HOST: 'no.such.host.invalid' }), /exited with 1:[\s\S]*cannot listen on no\.such\.host\.invalid:\d+ \(server\.host \/ HOST, server\.port \/ PORT\)/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('the banner writes an IPv6 listen address in brackets, as a URL that opens', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-v6-'));
  try {
    const port = await freePort();
    const server = await start(dataDir, port, { HOST: '::1' });
    const { banner } = server;
    try {
      assert.match(banner, new RegExp(`Stepgate is running on http://\\[::1\\]:${port}\\n`));
      assert.equal((await fetch(`http://[::1]:${port}/healthz`)).status, 200);
    } finally {
      await stop(server);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
