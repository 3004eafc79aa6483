import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliInProcess } from '../helpers/cli.ts';
import { openWithPassword, sealWithPassword } from '../../src/core/password-envelope.ts';
import { TOTP_EXPORT } from '../../src/mfa/totp/totp-export-payload.ts';
import { CONFIG_EXPORT } from '../../src/config-transfer/config-payload.ts';

/**
 * Names an import file brings, which only someone holding its password can write: `mfa import`
 * printed a registration's username raw (escape sequences that retitle, clear or recolour the
 * admin's terminal) and stored one of any length; `config import` took OIDC client ids with line
 * breaks and spaces, which Stepgate never makes.
 */
const EXPORT_PASSWORD = 'export passphrase 42';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const HOSTILE = 'x\u001b]0;pwned\u0007\u001b[2J\u001b[31mRED';
let app: Booted;
let passwordFile: string;

const cli = (...words: string[]) => cliInProcess({ config: () => app.services.config, store: async () => app.services.store, box: () => app.services.box, clock: app.services.clock }, words);
const dbJson = () => readFile(join(app.dataDir, 'db.json'), 'utf8');

async function sealed(name: string, payload: unknown, format = TOTP_EXPORT): Promise<string> {
  const file = join(app.dataDir, name);
  await writeFile(file, sealWithPassword(payload, EXPORT_PASSWORD, format), { mode: 0o600 });
  return file;
}

const registration = (userId: string, username: string) => ({ userId, username, secret: SECRET, digits: 6, periodSeconds: 30, algorithm: 'sha1', createdAt: 1 });

before(async () => {
  app = await boot();
  passwordFile = join(app.dataDir, 'export.pw');
  await writeFile(passwordFile, `${EXPORT_PASSWORD}\n`, { mode: 0o600 });
});
after(() => app?.close());

test('mfa import writes the file\'s usernames with their control characters escaped', async () => {
  const file = await sealed('hostile.export', { users: [registration('ghost', HOSTILE)] });
  const run = await cli('mfa', 'import', '--in', file, '--password-file', passwordFile);
  assert.equal(run.code, 0, run.err);
  assert.equal(run.err, 'Warning: not imported, no such user here: x\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{1b}[31mRED (id ghost).');
  assert.doesNotMatch(run.out + run.err, /\u001b|\u0007/);
});

test('mfa import refuses a username longer than a sign-in name can be, naming the registration', async () => {
  const before = await dbJson();
  const file = await sealed('long.export', { users: [registration('ghost', 'a'.repeat(257))] });
  const run = await cli('mfa', 'import', '--in', file, '--password-file', passwordFile);
  assert.equal(run.code, 1);
  assert.match(run.err, /^Import failed, nothing was changed: the registration of user id ghost \("a{257}"\): username: must have at most 256 characters\.$/);
  assert.equal(await dbJson(), before);
});

test('config import refuses an OIDC client id outside the alphabet client add makes ids from', async () => {
  const added = await cli('client', 'add', '--name', 'Wiki', '--redirect-uri', 'https://wiki.example.org/callback');
  assert.equal(added.code, 0, added.err);
  const exported = join(app.dataDir, 'config.export');
  assert.equal((await cli('config', 'export', '--out', exported, '--password-file', passwordFile)).code, 0);
  const payload = openWithPassword(await readFile(exported, 'utf8'), EXPORT_PASSWORD, CONFIG_EXPORT) as { oidcClients: Array<Record<string, unknown>> };
  payload.oidcClients[0]!.id = '--evil id\nX';
  const file = await sealed('client-id.export', payload, CONFIG_EXPORT);
  const run = await cli('config', 'import', '--in', file, '--password-file', passwordFile, '--dry-run');
  assert.equal(run.code, 1);
  assert.match(run.err, /\n {2}- OIDC client #1 in the file: id: a client id is made of letters, digits, "_" and "-" \(as client add makes them\)$/);
});
