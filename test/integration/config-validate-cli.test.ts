import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withoutSecretKey } from '../helpers/env.ts';

/**
 * `config validate` (architecture: "expose the same check as cli config-validate"): the checks the
 * server makes before it starts, so a mistake shows before a restart leaves the server down. Run as
 * an admin runs it: the real CLI in its own process, reading STEPGATE_CONFIG.
 */
const CLI = new URL('../../src/cli/index.ts', import.meta.url).pathname;

async function cli(env: NodeJS.ProcessEnv, words: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CLI, ...words], { env: { ...withoutSecretKey(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, out, err };
}

test('config validate: exit 2 naming every key the server would refuse to start with; exit 0 once they are right; no data directory made; policy list warns too', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-config-validate-'));
  try {
    const dataDir = join(dir, 'data');
    const file = join(dir, 'stepgate.config.json');
    const env = { STEPGATE_CONFIG: file };
    // Policies that do not exist: the CLI's other commands read this file without a word, the server stops.
    await writeFile(file, JSON.stringify({ dataDir, policies: { default: 'nope', account: 'nada' } }));
    const missing = await cli(env, ['config', 'validate']);
    assert.equal(missing.code, 2, missing.err);
    assert.match(missing.err, /policies\.default: no policy named "nope"/);
    assert.match(missing.err, /policies\.account: no policy named "nada"/);
    assert.equal(missing.out, '');

    await writeFile(file, JSON.stringify({ dataDir, server: { port: 70000 }, mfa: { totp: { periodSeconds: 10 } } }));
    const schema = await cli(env, ['config', 'validate']);
    assert.equal(schema.code, 2, schema.err);
    assert.match(schema.err, /server\.port: must be a whole number from 1 to 65535/);
    assert.match(schema.err, /mfa\.totp\.periodSeconds: must be at least 15/);

    await writeFile(file, JSON.stringify({ dataDir, policies: { default: 'permit-everyone-require-mfa' } }));
    const valid = await cli(env, ['config', 'validate']);
    assert.equal(valid.code, 0, valid.err);
    assert.match(valid.out, new RegExp(`The configuration is valid \\(${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): directory local, data directory ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.`));
    assert.match(valid.out, /directory test/);
    assert.equal(existsSync(dataDir), false, 'no data directory (nor key) made by a check');

    // On a data directory in use, a custom policy saved there counts.
    const made = await cli({ STEPGATE_DATA_DIR: dataDir }, ['policy', 'list']);
    assert.equal(made.code, 0, made.err);
    assert.ok((await readdir(dataDir)).includes('secret.key'));
    await writeFile(file, JSON.stringify({ dataDir, policies: { default: 'saved-later' } }));
    assert.equal((await cli(env, ['config', 'validate'])).code, 2);
    // policy list marks no default then: it says why on stderr, and still lists the policies.
    const listed = await cli(env, ['policy', 'list']);
    assert.equal(listed.code, 0, listed.err);
    assert.match(listed.out, /permit-everyone/);
    assert.match(listed.err, /Warning: policies\.default: no policy named "saved-later".*; the server does not start with this configuration \(npm run cli -- config validate\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('config validate: lifetimes that contradict one another are warned of on stderr, naming the keys; the configuration is still valid', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-config-validate-'));
  try {
    const file = join(dir, 'stepgate.config.json');
    // Seconds typed as minutes: 30 hours of idle time in a 10-hour session.
    await writeFile(file, JSON.stringify({ dataDir: join(dir, 'data'), session: { idleTimeoutMinutes: 1800 } }));
    const checked = await cli({ STEPGATE_CONFIG: file }, ['config', 'validate']);
    assert.equal(checked.code, 0, checked.err);
    assert.match(checked.err, /^Warning: session\.idleTimeoutMinutes \(1800 minutes\) is not shorter than session\.absoluteTimeoutHours \(10 hours\)/m);
    assert.match(checked.out, /The configuration is valid/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
