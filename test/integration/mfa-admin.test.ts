import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { until } from '../helpers/until.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { COMMANDS } from '../../src/cli/commands/all.ts';
import { parseConfig } from '../../src/config/load.ts';
import { buildServices } from '../../src/build-services.ts';
import { createLogger } from '../../src/core/log.ts';

const PASSWORD = 'correct horse 42';
let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };
let dataDir: string;
let app: Booted;
let secret = '';

async function cli(...words: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { services } = app;
  const code = await runCli(COMMANDS, words, { config: () => services.config, store: async () => services.store, box: () => services.box, clock, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const verify = async (code: string) => {
  const user = (await app.services.directory.findUser('alice'))!;
  return app.services.mfa.totp.verify({ user, ip: '198.51.100.20' }, code);
};

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'stepgate-mfa-admin-'));
  app = await boot({ mfa: { totp: { maxFailures: 2, autoUnlockMinutes: null } } }, { clock, dataDir });
  await createUser(app, { username: 'alice', password: PASSWORD });
  await createUser(app, { username: 'joe', password: PASSWORD });
  // Set up TOTP through the browser, as a user would (the default policy plus acr_values-like requirement).
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'a', rpName: 'App', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false });
  const setup = await browser.submit(await browser.get(`${app.url}/login/${tx.id}`), { username: 'alice', password: PASSWORD });
  secret = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(setup.body)![1]!.replace(/ /g, '');
  assert.match(await (await browser.submit(setup, { code: oathtoolTotp(secret, now) })).body, /Your backup codes/);
});
after(async () => {
  await app?.close();
  await rm(dataDir, { recursive: true, force: true });
});

test('the TOTP secret is never in clear in db.json or the kv journal', async () => {
  for (const file of ['db.json', 'kv.journal']) {
    const text = await readFile(join(dataDir, file), 'utf8');
    assert.equal(text.includes(secret), false, file);
  }
  assert.match(await readFile(join(dataDir, 'db.json'), 'utf8'), /"mfa-enrollments"/);
});

test('mfa list shows Active / Locked / Unregistered with last attempt and IP; unlock lifts an admin-only lock', async () => {
  const listed = await cli('mfa', 'list', '--search', '*LI*');
  const aliceId = (await app.services.directory.findUser('alice'))!.id;
  assert.match(listed.out, new RegExp(`^alice +Active +2026-11-22 10:00 +2026-11-22 10:00 127\\.0\\.0\\.1 ok +2026-11-22 10:00 127\\.0\\.0\\.1 +10 +${aliceId}$`, 'm'));
  assert.doesNotMatch(listed.out, /^joe/m);
  assert.match((await cli('mfa', 'list')).out, /^joe +Unregistered/m);

  now += 60_000;
  await verify('000000' === oathtoolTotp(secret, now) ? '111111' : '000000');
  const locked = await verify('000000' === oathtoolTotp(secret, now) ? '111111' : '000000');
  assert.deepEqual(locked, { ok: false, reason: 'locked', lockedUntil: null, lockStarted: true, lockCount: 1 });
  assert.match((await cli('mfa', 'list', '--search', 'alice')).out, /^alice +Locked \(until unlocked\) .* 198\.51\.100\.20 failed/m);
  const unlocked = await cli('mfa', 'unlock', 'alice');
  assert.deepEqual([unlocked.code, unlocked.out], [0, 'Unlocked alice.']);
  const again = await cli('mfa', 'unlock', 'alice');
  assert.deepEqual([again.code, again.out], [0, 'alice was not locked; the count of wrong codes is cleared.']);
  assert.equal((await cli('mfa', 'unlock', 'joe')).out, 'joe has no TOTP registration; there was nothing to unlock.');
  assert.deepEqual(await verify(oathtoolTotp(secret, now)), { ok: true, amr: 'otp' });
  assert.equal((await cli('mfa', 'unlock', 'nobody')).code, 1);
});

test('export to a password-encrypted file, reset, import: the same app keeps working', async () => {
  const passwordFile = join(dataDir, 'export-password');
  const out = join(dataDir, 'totp-export.json');
  await writeFile(passwordFile, 'a long export password\n');
  const exported = await cli('mfa', 'export', '--out', out, '--password-file', passwordFile);
  assert.deepEqual([exported.code, exported.out], [0, `Exported 1 TOTP registration to ${out}.`]);
  assert.equal((await readFile(out, 'utf8')).includes(secret), false);
  assert.equal((await cli('mfa', 'export', '--out', out, '--password', 'inline')).code, 2, 'no passwords on the command line');
  // An existing file is not overwritten unless asked; when it is, the secrets never land in a file others can read.
  const existing = join(dataDir, 'readable-export.json');
  await writeFile(existing, 'old', { mode: 0o644 });
  const refused = await cli('mfa', 'export', '--out', existing, '--password-file', passwordFile);
  assert.deepEqual([refused.code, refused.err], [1, `${existing} exists; give --force to overwrite it`]);
  assert.equal(await readFile(existing, 'utf8'), 'old');
  assert.equal((await cli('mfa', 'export', '--out', existing, '--password-file', passwordFile, '--force')).code, 0);
  assert.equal((await stat(existing)).mode & 0o777, 0o600);

  assert.equal((await cli('mfa', 'reset', 'alice')).code, 0);
  assert.match((await cli('mfa', 'list', '--search', 'alice')).out, /^alice +Unregistered/m);
  await writeFile(join(dataDir, 'wrong-password'), 'not the right password');
  const wrong = await cli('mfa', 'import', '--in', out, '--password-file', join(dataDir, 'wrong-password'));
  assert.deepEqual([wrong.code, wrong.err], [1, 'Import failed, nothing was changed: the password is wrong or the file was altered.']);
  const imported = await cli('mfa', 'import', '--in', out, '--password-file', passwordFile);
  assert.deepEqual([imported.code, imported.out], [0, 'Imported 1 TOTP registration.']);
  now += 60_000;
  assert.deepEqual(await verify(oathtoolTotp(secret, now)), { ok: true, amr: 'otp' });
});

/** A sign-in in `browser` to an application that requires a second factor; returns the page it ends on and whether it finished. */
async function mfaSignIn(browser: TestBrowser): Promise<{ page: Awaited<ReturnType<TestBrowser['get']>>; finished: boolean }> {
  const tx = await app.services.interaction.deps.transactions.create({ protocol: 'oidc', rpId: 'a', rpName: 'App', rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false });
  const page = await browser.get(`${app.url}/login/${tx.id}`);
  return { page, finished: app.finished.get(tx.id)?.ok === true };
}

test('mfa reset ends the sessions that signed in with the reset factor, and says what it did not do', async () => {
  // The reset of the test before ended the session of the first setup: the server takes up to a second to remove it.
  await until(() => app.services.store.kv.count('sso-session'), (count) => count === 0, 'the earlier session to be gone');
  const browser = new TestBrowser();
  now += 60_000;
  const { page } = await mfaSignIn(browser);
  const codePage = await browser.submit(page, { username: 'alice', password: PASSWORD });
  assert.match(codePage.body, /Enter your code/);
  await browser.submit(codePage, { code: oathtoolTotp(secret, now) });
  assert.equal((await mfaSignIn(browser)).finished, true, 'the session signs in where a second factor is required');
  assert.match((await cli('session', 'list', '--user', 'alice')).out, /factors pwd,otp/);

  const aliceId = (await app.services.directory.findUser('alice'))!.id;
  const endedOfAlice = async () => (await app.services.store.audit.query({ types: ['session.ended'] })).events.filter((event) => event.userId === aliceId);
  const endedBefore = (await endedOfAlice()).length;
  const reset = await cli('mfa', 'reset', 'alice');
  assert.equal(reset.code, 0, reset.err);
  assert.equal(reset.out.split('\n').slice(0, 2).join('\n'), 'Removed the TOTP registration of alice.\nEnded 1 SSO session.');
  assert.deepEqual((await endedOfAlice()).slice(endedBefore).map((event) => event.reason), ['mfa-reset']);
  await until(() => app.services.store.kv.count('sso-session'), (count) => count === 0, 'the server to end the session');
  const after = await mfaSignIn(browser);
  assert.equal(after.finished, false);
  assert.match(after.page.body, /name="password"/, 'signed out: the password again, then a new authenticator');

  const noSession = await cli('mfa', 'reset', 'alice');
  assert.equal(noSession.out, 'alice had no TOTP registration; counters cleared.\nalice had no live SSO session to end.');
});

test('a missing encryption key is a clear start-up error once secrets exist', async () => {
  const config = parseConfig({ dataDir, server: { port: 18099 } });
  await assert.rejects(buildServices(config, { logger: createLogger('silent'), clock }), (error: Error) => {
    assert.equal(error.name, 'ConfigError');
    assert.match(error.message, /secretKey: the encryption key for stored secrets is missing .* Set STEPGATE_SECRET_KEY or secretKeyFile/);
    return true;
  });
});
