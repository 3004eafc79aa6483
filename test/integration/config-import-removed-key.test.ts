import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliInProcess, type CliRun } from '../helpers/cli.ts';
import type { Clock } from '../../src/core/clock.ts';

/**
 * A signing key removed with `keys remove` (the README's step for an exposed key) does not come back
 * with an export made before the removal: `config import` used to add it again as a new record, with
 * no --replace, exit 0 and nothing under --quiet, and the JWKS published it for verification again.
 * It is now refused, naming the key and its removal, unless the admin leaves it out or restores it.
 */
const EXPORT_PASSWORD = 'export passphrase 42';
let app: Booted;
let passwordFile: string;
let olderExport: string;
let removedId: string;
/** When the removal is recorded: the test's own time, so that the refusal can be checked to the minute. */
const REMOVED_AT = Date.UTC(2026, 2, 14, 9, 26, 53);
const REMOVED_ON = '2026-03-14 09:26 UTC';

const cliOn = (on: Booted, clock: Clock, words: string[]): Promise<CliRun> => cliInProcess({ config: () => on.services.config, store: async () => on.services.store, box: () => on.services.box, clock }, words);
const cli = (...words: string[]) => cliOn(app, app.services.clock, words);
const importing = (...flags: string[]) => cli('config', 'import', '--in', olderExport, '--password-file', passwordFile, ...flags);
const keyLine = async (id: string) => (await cli('keys', 'list')).out.split('\n').find((line) => line.startsWith(`${id} `));
const dbJson = () => readFile(join(app.dataDir, 'db.json'), 'utf8');

before(async () => {
  app = await boot();
  passwordFile = join(app.dataDir, 'export.pw');
  await writeFile(passwordFile, `${EXPORT_PASSWORD}\n`, { mode: 0o600 });
  olderExport = join(app.dataDir, 'older.export');
  assert.equal((await cli('config', 'export', '--out', olderExport, '--password-file', passwordFile)).code, 0);
  removedId = (await cli('keys', 'list')).out.split('\n').find((line) => / RS256 {2}active/.test(line))!.split(' ')[0]!;
  const added = (await cli('keys', 'add', '--alg', 'RS256')).out.match(/added RS256 key (\S+) \(next\)/)![1]!;
  assert.equal((await cli('keys', 'activate', added)).code, 0);
  const removed = await cliOn(app, { now: () => REMOVED_AT }, ['keys', 'remove', removedId, '--force']);
  assert.equal(removed.code, 0, removed.err);
});
after(() => app?.close());

test('an export holding a key removed here is refused, naming the key and when it was removed; nothing is written', async () => {
  const before = await dbJson();
  for (const quiet of [[], ['--quiet']]) {
    const refused = await importing(...quiet);
    assert.equal(refused.code, 1, refused.out);
    assert.match(refused.err, /^The configuration was not imported \(nothing was changed\): it holds signing keys this installation removed \(keys remove\); give --skip-removed-keys to import the rest without them, or --restore-removed-keys/);
    assert.ok(refused.err.includes(`\n  - signing key ${removedId} (RS256): removed here on ${REMOVED_ON}; importing it publishes it again for verification`), refused.err);
  }
  const dryRun = await importing('--dry-run');
  assert.equal(dryRun.code, 1, 'a dry run says the import as typed would be refused');
  assert.match(dryRun.err, /Without --dry-run the import would be refused: it holds signing keys this installation removed/);
  assert.equal(await dbJson(), before);
  assert.equal(await keyLine(removedId), undefined);
});

test('--skip-removed-keys imports the rest without the removed key; --restore-removed-keys publishes it again, retired', async () => {
  const skipped = await importing('--skip-removed-keys');
  assert.equal(skipped.code, 0, skipped.err);
  assert.ok(skipped.out.includes(`Warning: signing key ${removedId} (RS256): removed here on ${REMOVED_ON}; left out (--skip-removed-keys)`), skipped.out);
  assert.equal(await keyLine(removedId), undefined, 'still not published');

  assert.equal((await importing('--skip-removed-keys', '--restore-removed-keys')).code, 2, 'one or the other');

  const restored = await importing('--restore-removed-keys');
  assert.equal(restored.code, 0, restored.err);
  assert.match(restored.out, new RegExp(`add\\s+signing key ${removedId} \\(RS256\\) active in the file; here retired: published for verification only, never signs`));
  assert.match((await keyLine(removedId)) ?? '', /RS256 {2}retired/);
});

/**
 * Where this installation's own key signs because an admin chose it, the file's keys come in retired
 * anyway, which hid whether a removed key is held back for being removed. The installations below
 * sign with the keys made at their first start, which a file's keys may take the place of.
 */
interface Installation {
  cli(...words: string[]): Promise<CliRun>;
  keyLine(id: string): Promise<string | undefined>;
  activeRs256(): Promise<string>;
  exported(): Promise<string>;
  importing(file: string, ...flags: string[]): Promise<CliRun>;
}

async function installation(t: { after(fn: () => Promise<void>): void }): Promise<Installation> {
  const booted = await boot();
  t.after(() => booted.close());
  const cli = (...words: string[]) => cliOn(booted, booted.services.clock, words);
  const password = join(booted.dataDir, 'export.pw');
  await writeFile(password, `${EXPORT_PASSWORD}\n`, { mode: 0o600 });
  const lines = async () => (await cli('keys', 'list')).out.split('\n');
  let exports = 0;
  return {
    cli,
    keyLine: async (id) => (await lines()).find((line) => line.startsWith(`${id} `)),
    activeRs256: async () => (await lines()).find((line) => / RS256 {2}active/.test(line))!.split(' ')[0]!,
    async exported() {
      const file = join(booted.dataDir, `${(exports += 1)}.export`);
      const written = await cli('config', 'export', '--out', file, '--password-file', password);
      assert.equal(written.code, 0, written.err);
      return file;
    },
    importing: (file, ...flags) => cli('config', 'import', '--in', file, '--password-file', password, ...flags),
  };
}

const addedKey = (added: CliRun) => added.out.match(/added RS256 key (\S+) \(next\)/)?.[1] ?? assert.fail(added.err);

test('a key withdrawn here while it waited (next) comes back retired with --restore-removed-keys, not waiting to be activated', async (t) => {
  const here = await installation(t);
  const waiting = addedKey(await here.cli('keys', 'add', '--alg', 'RS256'));
  const file = await here.exported();
  assert.equal((await here.cli('keys', 'remove', waiting)).code, 0);

  const restored = await here.importing(file, '--restore-removed-keys');
  assert.equal(restored.code, 0, restored.err + restored.out);
  assert.ok(restored.out.includes(`Warning: signing key ${waiting} (RS256) is next in the file, but this installation removed it: it comes back retired.`), restored.out);
  assert.match((await here.keyLine(waiting)) ?? '', /RS256 {2}retired/);
  assert.equal((await here.cli('keys', 'add', '--alg', 'RS256')).code, 0, 'no RS256 key waits: a new one can be added');
});

test('a key withdrawn here and made active by a copy of this configuration comes back retired; the key signing here goes on signing', async (t) => {
  const here = await installation(t);
  const signing = await here.activeRs256();
  const withdrawn = addedKey(await here.cli('keys', 'add', '--alg', 'RS256'));
  const beforeWithdrawal = await here.exported();
  assert.equal((await here.cli('keys', 'remove', withdrawn)).code, 0);

  // A copy (staging, a second site) took the key on, activated it and dropped this installation's.
  const copy = await installation(t);
  const copied = await copy.importing(beforeWithdrawal, '--replace');
  assert.equal(copied.code, 0, copied.err);
  assert.equal((await copy.cli('keys', 'activate', withdrawn)).code, 0);
  assert.equal((await copy.cli('keys', 'remove', signing, '--force')).code, 0);
  const fromCopy = await copy.exported();

  const restored = await here.importing(fromCopy, '--restore-removed-keys');
  assert.equal(restored.code, 0, restored.err + restored.out);
  assert.ok(restored.out.includes(`Warning: signing key ${withdrawn} (RS256) is active in the file, but this installation removed it: it comes back retired.`), restored.out);
  assert.match((await here.keyLine(withdrawn)) ?? '', /RS256 {2}retired/);
  assert.match((await here.keyLine(signing)) ?? '', /RS256 {2}active/);
});
