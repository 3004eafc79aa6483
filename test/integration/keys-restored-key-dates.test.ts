import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliInProcess, type CliRun } from '../helpers/cli.ts';
import { removedSigningKeys } from '../../src/keys/signing-keys.ts';
import type { Clock } from '../../src/core/clock.ts';

/**
 * A removed key restored by `config import --restore-removed-keys` is marked with the time of that
 * import, and `keys list` gives both times: when it was removed and when the admin brought it back.
 * An admin reading the list after an incident must not see the removal's date twice.
 */
const EXPORT_PASSWORD = 'export passphrase 42';
const REMOVED_AT = Date.UTC(2026, 2, 14, 9, 26, 53);
const RESTORED_AT = Date.UTC(2026, 4, 2, 17, 5, 12);
let dataDir: string;
let app: Booted;
let restored: string;

const cliAt = (clock: Clock, ...words: string[]): Promise<CliRun> => cliInProcess({ config: () => app.services.config, store: async () => app.services.store, box: () => app.services.box, clock }, words);
const cli = (...words: string[]) => cliAt(app.services.clock, ...words);

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'stepgate-restored-key-dates-'));
  app = await boot({}, { dataDir });
  const passwordFile = join(dataDir, 'export.pw');
  await writeFile(passwordFile, `${EXPORT_PASSWORD}\n`, { mode: 0o600 });
  const added = await cli('keys', 'add', '--alg', 'ES256');
  restored = added.out.match(/added \S+ key (\S+) \(next\)/)?.[1] ?? assert.fail(added.err);
  const olderExport = join(dataDir, 'older.export');
  assert.equal((await cli('config', 'export', '--out', olderExport, '--password-file', passwordFile)).code, 0);
  assert.equal((await cliAt({ now: () => REMOVED_AT }, 'keys', 'remove', restored)).code, 0);
  const restoring = await cliAt({ now: () => RESTORED_AT }, 'config', 'import', '--in', olderExport, '--password-file', passwordFile, '--restore-removed-keys');
  assert.equal(restoring.code, 0, restoring.err);
});
after(async () => {
  await app?.close();
  await rm(dataDir, { recursive: true, force: true });
});

test('the restored key is marked with the time of the import that restored it, and keys list gives both times', async () => {
  const removal = await removedSigningKeys(app.services.store).get(restored);
  assert.deepEqual({ removedAt: removal?.removedAt, restoredAt: removal?.restoredAt }, { removedAt: REMOVED_AT, restoredAt: RESTORED_AT });
  const line = (await cli('keys', 'list')).out.split('\n').find((candidate) => candidate.startsWith(`${restored} `)) ?? assert.fail('no line for the key');
  assert.ok(line.endsWith('; removed here on 2026-03-14 09:26 UTC, published again by config import --restore-removed-keys on 2026-05-02 17:05 UTC'), line);
});
