import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { killChild } from '../helpers/child-exit.ts';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliInProcess } from '../helpers/cli.ts';

/**
 * Files the CLI reads whole. A UTF-8 byte-order mark (Windows Notepad's "UTF-8") used to become the
 * first character of a password read from a file, and made an export file "not JSON". A file of any
 * size was read, parsed and decrypted before a wrong password was noticed (600 MB of memory for a
 * 100 MB file): above 64 MB it is now refused unread.
 */
const EXPORT_PASSWORD = 'Export-pass-2024!';
const BOM = '\uFEFF';
let app: Booted;
let plainPasswordFile: string;

const cli = (...words: string[]) => cliInProcess({ config: () => app.services.config, store: async () => app.services.store, box: () => app.services.box, clock: app.services.clock }, words);

before(async () => {
  app = await boot();
  plainPasswordFile = join(app.dataDir, 'plain.pw');
  await writeFile(plainPasswordFile, `${EXPORT_PASSWORD}\n`, { mode: 0o600 });
});
after(() => app?.close());

test('a byte-order mark at the start of a password file or an export file is not part of what is read', async () => {
  const bomPasswordFile = join(app.dataDir, 'bom.pw');
  await writeFile(bomPasswordFile, `${BOM}${EXPORT_PASSWORD}\r\n`, { mode: 0o600 });
  for (const command of ['config', 'mfa'] as const) {
    const file = join(app.dataDir, `${command}.export`);
    const exported = await cli(command, 'export', '--out', file, '--password-file', bomPasswordFile);
    assert.equal(exported.code, 0, exported.err);
    const opened = await cli(command, 'import', '--in', file, '--password-file', plainPasswordFile, ...(command === 'config' ? ['--dry-run'] : []));
    assert.equal(opened.code, 0, `the password typed without the mark opens it: ${opened.err}`);

    const savedWithBom = join(app.dataDir, `${command}-bom.export`);
    await writeFile(savedWithBom, `${BOM}${await readFile(file, 'utf8')}`, { mode: 0o600 });
    const reopened = await cli(command, 'import', '--in', savedWithBom, '--password-file', bomPasswordFile, ...(command === 'config' ? ['--dry-run'] : []));
    assert.equal(reopened.code, 0, `an export saved with a mark opens too: ${reopened.err}`);
  }
});

test('an import file larger than 64 MB is refused before it is read, naming the limit', async () => {
  const huge = join(app.dataDir, 'huge.export');
  await writeFile(huge, '');
  await truncate(huge, 64 * 1024 * 1024 + 1);
  const before = await readFile(join(app.dataDir, 'db.json'), 'utf8');
  const config = await cli('config', 'import', '--in', huge, '--password-file', plainPasswordFile, '--dry-run');
  assert.equal(config.code, 1);
  assert.equal(config.err, `The configuration was not imported (nothing was changed): ${huge} is larger than 64 MB, more than any file the CLI reads can be; it was not read.`);
  const mfa = await cli('mfa', 'import', '--in', huge, '--password-file', plainPasswordFile);
  assert.equal(mfa.code, 1);
  assert.equal(mfa.err, `Import failed, nothing was changed: ${huge} is larger than 64 MB, more than any file the CLI reads can be; it was not read.`);
  assert.equal(await readFile(join(app.dataDir, 'db.json'), 'utf8'), before);
});

test('an import read from a pipe (a FIFO, as /dev/stdin is) is refused once more than 64 MB came through it', async () => {
  const fifo = join(app.dataDir, 'export.fifo');
  execFileSync('mkfifo', [fifo]);
  // Another process writes: the CLI reads synchronously, so this one could not feed the pipe meanwhile.
  const writer = spawn('sh', ['-c', 'exec head -c "$1" /dev/zero > "$2"', 'sh', String(64 * 1024 * 1024 + 1), fifo], { stdio: 'ignore' });
  try {
    const before = await readFile(join(app.dataDir, 'db.json'), 'utf8');
    const config = await cli('config', 'import', '--in', fifo, '--password-file', plainPasswordFile, '--dry-run');
    assert.equal(config.code, 1);
    assert.equal(config.err, `The configuration was not imported (nothing was changed): ${fifo} is larger than 64 MB, more than any file the CLI reads can be; it was not read.`);
    assert.equal(await readFile(join(app.dataDir, 'db.json'), 'utf8'), before);
  } finally {
    await killChild(writer);
  }
});

test('a policy file saved with a byte-order mark is read as the JSON it holds', async () => {
  const file = join(app.dataDir, 'bom-policy.json');
  await writeFile(file, `${BOM}${JSON.stringify({ name: 'office-only', rules: [{ then: { effect: 'permit' } }] })}\r\n`);
  const saved = await cli('policy', 'set', '--file', file);
  assert.equal(saved.code, 0, saved.err);
  assert.match((await cli('policy', 'show', 'office-only')).out, /"name": "office-only"/);
});
