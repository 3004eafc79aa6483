import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type * as jose from 'jose';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliInProcess, type CliRun } from '../helpers/cli.ts';
import { startUntilBanner } from '../helpers/node-process.ts';
import { withoutSecretKey } from '../helpers/env.ts';
import { until } from '../helpers/until.ts';
import { SIGNING_KEY_COLLECTION, type SigningKeyRecord } from '../../src/keys/signing-keys.ts';
import type { Clock } from '../../src/core/clock.ts';

/**
 * A key removed with `keys remove` is remembered, and this version's import brings it back only on
 * the admin's word (--restore-removed-keys). An earlier version keeps no such record: after a
 * rollback its import of an older export publishes the key again, and after the upgrade nothing
 * said so. A start and `keys list` now do.
 */
const SECRET_KEY = randomBytes(32).toString('base64');
const EXPORT_PASSWORD = 'export passphrase 42';
const REMOVED_AT = Date.UTC(2026, 2, 14, 9, 26, 53);
const REMOVED_ON = '2026-03-14 09:26 UTC';
let dataDir: string;
let app: Booted;
let closed: Promise<void> | undefined;
/** The in-process server gives the data directory up once, before the start of the real one. */
const closeApp = () => (closed ??= app?.close());
/** Removed here, then stored again as an earlier version's import stores a key of its file. */
let republished: string;
/** Removed here, then restored by this version's import with --restore-removed-keys. */
let restored: string;

const cliAt = (clock: Clock, ...words: string[]): Promise<CliRun> => cliInProcess({ config: () => app.services.config, store: async () => app.services.store, box: () => app.services.box, clock }, words);
const cli = (...words: string[]) => cliAt(app.services.clock, ...words);
const addedKey = (added: CliRun) => added.out.match(/added \S+ key (\S+) \(next\)/)?.[1] ?? assert.fail(added.err);
const keyLine = async (id: string) => (await cli('keys', 'list')).out.split('\n').find((line) => line.startsWith(`${id} `)) ?? assert.fail(`no line for ${id}`);

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'stepgate-removed-key-published-'));
  app = await boot({}, { dataDir, secretKey: SECRET_KEY });
  const passwordFile = join(dataDir, 'export.pw');
  await writeFile(passwordFile, `${EXPORT_PASSWORD}\n`, { mode: 0o600 });

  restored = addedKey(await cli('keys', 'add', '--alg', 'ES256'));
  const olderExport = join(dataDir, 'older.export');
  assert.equal((await cli('config', 'export', '--out', olderExport, '--password-file', passwordFile)).code, 0);
  assert.equal((await cliAt({ now: () => REMOVED_AT }, 'keys', 'remove', restored)).code, 0);
  const restoring = await cli('config', 'import', '--in', olderExport, '--password-file', passwordFile, '--restore-removed-keys');
  assert.equal(restoring.code, 0, restoring.err);

  republished = addedKey(await cli('keys', 'add', '--alg', 'RS256'));
  const records = app.services.store.collection<SigningKeyRecord>(SIGNING_KEY_COLLECTION);
  const asExported = (await records.get(republished))!;
  assert.equal((await cliAt({ now: () => REMOVED_AT }, 'keys', 'remove', republished)).code, 0);
  await records.put(asExported);
});
after(async () => {
  await closeApp();
  await rm(dataDir, { recursive: true, force: true });
});

test('keys list says of a removed key published again when it was removed, and how to remove it again; of a restored one, that it was restored', async () => {
  const kids = await until(async () => ((await (await fetch(`${app.url}/oidc/jwks`)).json()) as jose.JSONWebKeySet).keys.map((key) => key.kid), (ids) => ids.includes(republished), 'the JWKS to publish the key again');
  assert.ok(kids.includes(restored));

  assert.ok((await keyLine(republished)).endsWith(`; removed here on ${REMOVED_ON}, PUBLISHED AGAIN, with no record here of config import --restore-removed-keys (an earlier version's import, or a keys remove stopped half-way): remove it again with npm run cli -- keys remove ${republished} --force`), await keyLine(republished));
  assert.match(await keyLine(restored), new RegExp(`; removed here on ${REMOVED_ON}, published again by config import --restore-removed-keys on \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC$`));
  const others = (await cli('keys', 'list')).out.split('\n').filter((line) => !line.startsWith(`${republished} `) && !line.startsWith(`${restored} `));
  assert.equal(others.length, 2);
  for (const line of others) assert.doesNotMatch(line, /removed here/);
});

test('a start warns of the removed key published again, naming it, its removal and the command that removes it again; not of the restored one', async () => {
  await closeApp();
  const output = await startUntilBanner({ ...withoutSecretKey(process.env), STEPGATE_SECRET_KEY: SECRET_KEY, STEPGATE_DATA_DIR: dataDir, PORT: String(app.port), PUBLIC_URL: app.url });
  const warnings = output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.event === 'keys.removed-key-published');
  assert.equal(warnings.length, 1, output);
  const [warning] = warnings;
  assert.deepEqual([warning!.level, warning!.keyId, warning!.alg, warning!.status, warning!.removedAt], [40, republished, 'RS256', 'next', new Date(REMOVED_AT).toISOString()]);
  assert.equal(
    warning!.msg,
    `signing key ${republished} (RS256, next) was removed here on ${REMOVED_ON} but is published again: an earlier version of Stepgate imported an export that holds it (its --restore-removed-keys leaves no record), or "keys remove" stopped before it took the key out. ` +
      `If it was removed because it may have been exposed, remove it again: npm run cli -- keys remove ${republished} --force; ` +
      `to keep it published, remove it and import it again with this version's config import --restore-removed-keys`,
  );
});
