import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ParsedArgs } from '../../src/cli/command.ts';
import { readExportPassword, readNewExportPassword, readNewSecretOption } from '../../src/cli/read-secret.ts';

const dir = await mkdtemp(join(tmpdir(), 'stepgate-password-file-'));
after(() => rm(dir, { recursive: true, force: true }));

function passwordFile(name: string, bytes: Buffer): ParsedArgs {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { positional: [], options: { 'password-file': path }, lists: {} };
}

// "Grüße-Straße-2026" and "Grééè-Straàe-2026" saved as Latin-1: each non-ASCII byte reads as U+FFFD.
const latin1 = passwordFile('latin1.pw', Buffer.from('Gr\xfc\xdfe-Stra\xdfe-2026\n', 'latin1'));
const otherLatin1 = passwordFile('other-latin1.pw', Buffer.from('Gr\xe9\xe8e-Stra\xe0e-2026\n', 'latin1'));
const utf8 = passwordFile('utf8.pw', Buffer.from('Grüße-Straße-2026\n', 'utf8'));

test('two Latin-1 password files that differ only in their accented letters would read as one password', () => {
  assert.equal(readExportPassword(latin1), readExportPassword(otherLatin1));
});

test('a password about to be set or to encrypt a new export is refused when its file is not UTF-8', () => {
  for (const read of [readNewExportPassword, readNewSecretOption]) assert.throws(() => read(latin1), { name: 'UsageError', message: /not UTF-8 text/ });
  assert.equal(readNewExportPassword(utf8), 'Grüße-Straße-2026');
  assert.equal(readNewSecretOption(utf8), 'Grüße-Straße-2026');
});

test('the password of a file to import is read as before, so an export made with such a file still opens', () => {
  assert.equal(readExportPassword(latin1), 'Gr\uFFFD\uFFFDe-Stra\uFFFDe-2026');
});
