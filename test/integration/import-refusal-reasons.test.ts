import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliInProcess } from '../helpers/cli.ts';

/**
 * An export file refused before its password is tried says why: a newer envelope version, or key
 * derivation that asks for more work than Stepgate allows. Both used to read "not a Stepgate …
 * export (unknown format or version)", though the file is one. `mfa import` says that nothing was
 * changed, as `config import` does.
 */
const EXPORT_PASSWORD = 'export passphrase 42';
let app: Booted;
let passwordFile: string;
const exported: Record<'config' | 'mfa', string> = { config: '', mfa: '' };

const cli = (...words: string[]) => cliInProcess({ config: () => app.services.config, store: async () => app.services.store, box: () => app.services.box, clock: app.services.clock }, words);

/** The export of `command` with its envelope changed, as a newer Stepgate or a hand-edited file could have it. */
async function edited(command: 'config' | 'mfa', change: (envelope: Record<string, any>) => void): Promise<string> {
  const envelope = JSON.parse(await readFile(exported[command], 'utf8'));
  change(envelope);
  const file = join(app.dataDir, `${command}-${Object.keys(envelope).join('')}-${Math.random()}.export`);
  await writeFile(file, JSON.stringify(envelope));
  return file;
}

const importing = (command: 'config' | 'mfa', file: string) => cli(command, 'import', '--in', file, '--password-file', passwordFile);

before(async () => {
  app = await boot();
  passwordFile = join(app.dataDir, 'export.pw');
  await writeFile(passwordFile, `${EXPORT_PASSWORD}\n`, { mode: 0o600 });
  for (const command of ['config', 'mfa'] as const) {
    exported[command] = join(app.dataDir, `${command}.export`);
    assert.equal((await cli(command, 'export', '--out', exported[command], '--password-file', passwordFile)).code, 0);
  }
});
after(() => app?.close());

test('a newer envelope version and too costly scrypt parameters are refused with their reason; nothing is changed', async () => {
  const refusal = { config: 'The configuration was not imported (nothing was changed): ', mfa: 'Import failed, nothing was changed: ' };
  const kind = { config: 'a Stepgate configuration export', mfa: 'a Stepgate TOTP export' };
  const before = await readFile(join(app.dataDir, 'db.json'), 'utf8');
  for (const command of ['config', 'mfa'] as const) {
    const newer = await importing(command, await edited(command, (envelope) => (envelope.version = 2)));
    assert.equal(newer.code, 1);
    assert.equal(newer.err, `${refusal[command]}the file is ${kind[command]} in envelope version 2; this Stepgate reads version 1.`);

    const costly = await importing(command, await edited(command, (envelope) => (envelope.kdf.N = 2 ** 18)));
    assert.equal(costly.code, 1);
    assert.equal(costly.err, `${refusal[command]}the file's key derivation asks for more work than Stepgate allows (scrypt N=262144, r=8, p=1: N·r·p at most 2^20, 4 times what Stepgate writes); it was not tried.`);

    const wrongPassword = await importing(command, await edited(command, (envelope) => (envelope.tag = Buffer.alloc(16).toString('base64'))));
    assert.equal(wrongPassword.err, `${refusal[command]}the password is wrong or the file was altered.`);
  }
  assert.equal(await readFile(join(app.dataDir, 'db.json'), 'utf8'), before);
});
