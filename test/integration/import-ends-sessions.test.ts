import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { boot, type Booted } from '../helpers/boot.ts';
import type { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { cliInProcess } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';
import { rpBrowser } from '../helpers/oidc-rp.ts';
import { TestSp, isPasswordPage, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import { sealWithPassword } from '../../src/core/password-envelope.ts';
import { TOTP_EXPORT } from '../../src/mfa/totp/totp-export-payload.ts';

/**
 * An import that gives a user another password (config import --replace) or another TOTP secret (mfa
 * import --replace) ends that user's SSO sessions, as user set-password and mfa reset do: it used to
 * leave them, so a browser that signed in with the replaced password or authenticator went on
 * signing in. Users whose records the import leaves as they were keep theirs.
 */
const PASSWORD = 'Correct-horse-42';
const EXPORT_PASSWORD = 'export passphrase 42';
const FIRST_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const OTHER_SECRET = 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU';
let app: Booted;
let wiki: TestSp;
let passwordFile: string;
const ids: Record<string, string> = {};

const cli = (...words: string[]) => cliInProcess({ config: () => app.services.config, store: async () => app.services.store, box: () => app.services.box, clock: app.services.clock }, words);

async function samlSignIn(username: string, password = PASSWORD): Promise<TestBrowser> {
  const browser = rpBrowser();
  const page = await sendAuthnRequest(browser, wiki);
  assert.ok(isPasswordPage(page));
  assert.ok(samlPostForm(await browser.submit(page, { username, password })).fields.SAMLResponse);
  return browser;
}

const signedIn = async (browser: TestBrowser) => !isPasswordPage(await sendAuthnRequest(browser, wiki));

const endedFor = async (reason: string) =>
  (await readFile(join(app.dataDir, 'audit.log'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((event) => event.type === 'session.ended' && event.reason === reason)
    .map((event) => event.userId);

async function totpFile(name: string, registrations: Array<{ id: string; username: string; secret: string }>): Promise<string> {
  const users = registrations.map(({ id, username, secret }) => ({ userId: id, username, secret, digits: 6, periodSeconds: 30, algorithm: 'sha1', createdAt: 1 }));
  const file = join(app.dataDir, name);
  await writeFile(file, sealWithPassword({ users }, EXPORT_PASSWORD, TOTP_EXPORT), { mode: 0o600 });
  return file;
}

before(async () => {
  app = await boot();
  wiki = await TestSp.create(app, { name: 'wiki' });
  for (const name of ['alice', 'bob']) ids[name] = await addLocalUser(app.services, name, PASSWORD);
  passwordFile = join(app.dataDir, 'export.pw');
  await writeFile(passwordFile, `${EXPORT_PASSWORD}\n`, { mode: 0o600 });
});
after(() => app?.close());

test('config import --replace of another password ends that user\'s SSO sessions, says how many, audits each; unchanged users keep theirs', async () => {
  const exported = join(app.dataDir, 'before.export');
  assert.equal((await cli('config', 'export', '--out', exported, '--password-file', passwordFile)).code, 0);
  const newPassword = join(app.dataDir, 'alice.pw');
  await writeFile(newPassword, 'Another-horse-43\n', { mode: 0o600 });
  assert.equal((await cli('user', 'set-password', 'alice', '--password-file', newPassword)).code, 0);
  const laptop = await samlSignIn('alice', 'Another-horse-43');
  const bobs = await samlSignIn('bob');

  const dryRun = await cli('config', 'import', '--in', exported, '--password-file', passwordFile, '--replace', '--dry-run');
  assert.equal(dryRun.code, 0, dryRun.err);
  assert.match(dryRun.out, /The import ends the SSO sessions of 1 user whose password it changes \(as user set-password does\): alice\./);
  assert.ok(await signedIn(laptop), 'a dry run ends nothing');

  const imported = await cli('config', 'import', '--in', exported, '--password-file', passwordFile, '--replace');
  assert.equal(imported.code, 0, imported.err);
  assert.match(imported.out, /replace\s+local user alice \(id [^)]+\): another password/);
  assert.match(imported.out, /\nEnded 1 SSO session of the user whose password the import changed \(alice\)\.\nThe running server ends them/);
  await until(() => signedIn(laptop), (still) => !still, "alice's browser to be asked for the password again");
  assert.ok(await signedIn(bobs), "bob's password did not change: his session goes on");
  assert.deepEqual(await endedFor('password-imported'), [ids.alice]);
  const familiarOf = async (id: string) => (await app.services.store.kv.get<{ ids: string[] }>('familiar-devices', id))?.ids ?? [];
  assert.deepEqual(await familiarOf(ids.alice!), [], "alice's browsers proved only the replaced password: no longer familiar");
  assert.equal((await familiarOf(ids.bob!)).length, 1, "bob's browser stays familiar");

  const again = await cli('config', 'import', '--in', exported, '--password-file', passwordFile, '--replace');
  assert.equal(again.code, 0, again.err);
  assert.doesNotMatch(again.out, /SSO session/, 'nothing changed, nothing ended');
});

test('mfa import --replace with another secret ends that user\'s SSO sessions, says how many, audits each; the same secret ends none', async () => {
  const first = await totpFile('first.export', [{ id: ids.alice!, username: 'alice', secret: FIRST_SECRET }, { id: ids.bob!, username: 'bob', secret: FIRST_SECRET }]);
  const registered = await cli('mfa', 'import', '--in', first, '--password-file', passwordFile);
  assert.equal(registered.code, 0, registered.err);
  assert.doesNotMatch(registered.out, /SSO session/, 'a first registration replaces no secret');
  const laptop = await samlSignIn('alice');
  const bobs = await samlSignIn('bob');

  const same = await cli('mfa', 'import', '--in', first, '--password-file', passwordFile, '--replace');
  assert.equal(same.code, 0, same.err);
  assert.doesNotMatch(same.out, /SSO session/);
  assert.ok(await signedIn(laptop), 'the same secret again ends nothing');

  const other = await totpFile('other.export', [{ id: ids.alice!, username: 'alice', secret: OTHER_SECRET }, { id: ids.bob!, username: 'bob', secret: FIRST_SECRET }]);
  const replaced = await cli('mfa', 'import', '--in', other, '--password-file', passwordFile, '--replace');
  assert.equal(replaced.code, 0, replaced.err);
  assert.match(replaced.out, /^Imported 2 TOTP registrations\.\nEnded 1 SSO session of the user whose TOTP secret the import changed \(alice\)\./);
  await until(() => signedIn(laptop), (still) => !still, "alice's browser to be asked for the password again");
  assert.ok(await signedIn(bobs), "bob's secret did not change: his session goes on");
  assert.deepEqual(await endedFor('totp-imported'), [ids.alice]);
});

test('config import --replace that disables a user ends that user\'s SSO sessions, as user disable does', async () => {
  assert.equal((await cli('user', 'disable', 'bob')).code, 0);
  const exported = join(app.dataDir, 'bob-disabled.export');
  assert.equal((await cli('config', 'export', '--out', exported, '--password-file', passwordFile)).code, 0);
  assert.equal((await cli('user', 'enable', 'bob')).code, 0);
  const bobs = await samlSignIn('bob');

  const dryRun = await cli('config', 'import', '--in', exported, '--password-file', passwordFile, '--replace', '--dry-run');
  assert.equal(dryRun.code, 0, dryRun.err);
  assert.match(dryRun.out, /The import ends the SSO sessions of 1 user it disables \(as user disable does\): bob\./);

  const endedBefore = (await endedFor('account-disabled')).length;
  const imported = await cli('config', 'import', '--in', exported, '--password-file', passwordFile, '--replace');
  assert.equal(imported.code, 0, imported.err);
  const [, count] = /\nEnded (\d+) SSO sessions? of the user whom the import disabled \(bob\)\./.exec(imported.out) ?? [];
  assert.ok(Number(count) >= 1, imported.out);
  await until(() => signedIn(bobs), (still) => !still, "bob's browser to be signed out");
  const ended = (await endedFor('account-disabled')).slice(endedBefore);
  assert.equal(ended.length, Number(count));
  assert.ok(ended.every((userId) => userId === ids.bob));
});
