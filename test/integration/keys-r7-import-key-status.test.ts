import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliProcess, type CliRun } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';
import { openWithPassword, sealWithPassword } from '../../src/core/password-envelope.ts';
import { CONFIG_EXPORT } from '../../src/config-transfer/config-payload.ts';
import { openPrivateKey, signingKeys, type LoadedKey } from '../../src/keys/signing-keys.ts';

const EXPORT_PASSWORD = 'a long export passphrase';

interface Installation {
  app: Booted;
  secretKey: string;
}

let work: string;
let passwordFile: string;
const installations: Installation[] = [];

async function installation(): Promise<Installation> {
  const secretKey = randomBytes(32).toString('base64');
  const made = { app: await boot({}, { secretKey }), secretKey };
  installations.push(made);
  return made;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'stepgate-r7-import-keys-'));
  passwordFile = join(work, 'export.pw');
  await writeFile(passwordFile, `${EXPORT_PASSWORD}\n`);
});
after(async () => {
  for (const { app } of installations) await app.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** `npm run cli -- <words>` in its own process on the installation. */
function cli(at: Installation, ...words: string[]): Promise<CliRun> {
  return cliProcess(at.app, at.secretKey, words);
}

function importing(at: Installation, file: string, ...flags: string[]): Promise<CliRun> {
  return cli(at, 'config', 'import', '--in', file, '--password-file', passwordFile, ...flags);
}

async function exported(at: Installation): Promise<string> {
  const file = join(work, `export-${randomBytes(4).toString('hex')}.json`);
  const run = await cli(at, 'config', 'export', '--out', file, '--password-file', passwordFile);
  assert.equal(run.code, 0, run.err);
  return file;
}

async function activeKey(at: Installation, alg: 'RS256' | 'ES256'): Promise<string> {
  return (await at.app.services.keys.active(alg)).id;
}

/** keys add + keys activate; returns the new key. */
async function rotate(at: Installation, alg: 'RS256' | 'ES256'): Promise<string> {
  const added = await cli(at, 'keys', 'add', '--alg', alg);
  assert.equal(added.code, 0, added.err);
  const id = /key (\S+) \(next\)/.exec(added.out)![1]!;
  assert.equal((await cli(at, 'keys', 'activate', id)).code, 0);
  return id;
}

async function serverSees(at: Installation, expected: Record<string, LoadedKey['status'] | 'removed'>): Promise<void> {
  const sees = (keys: LoadedKey[]) => Object.entries(expected).every(([id, status]) => (keys.find((key) => key.id === id)?.status ?? 'removed') === status);
  await until(() => at.app.services.keys.all(), sees, `the server to see ${JSON.stringify(expected)}`);
}

/** Every key's status as stored now, read by a CLI process (the server may not have looked yet). */
async function storedStatuses(at: Installation): Promise<Record<string, string>> {
  const listed = await cli(at, 'keys', 'list');
  return Object.fromEntries(listed.out.split('\n').map((line) => line.split(/ +/)).map(([id, _alg, status]) => [id!, status!]));
}

async function assertStored(at: Installation, expected: Record<string, string>): Promise<void> {
  const stored = await storedStatuses(at);
  assert.deepEqual(Object.fromEntries(Object.keys(expected).map((id) => [id, stored[id] ?? 'removed'])), expected);
}

const dbJson = (at: Installation) => readFile(join(at.app.dataDir, 'db.json'), 'utf8');

async function lastImportEvent(at: Installation): Promise<Record<string, unknown>> {
  return (await at.app.services.store.audit.query({ types: ['config.import'], limit: 1 })).events[0]!;
}

test('a dry run without --replace on a fresh installation prints the whole plan, then the records that need --replace (exit 1, nothing written)', async () => {
  const source = await installation();
  const file = await exported(source);
  const target = await installation();
  const [sourceRsa, sourceEc, targetRsa] = [await activeKey(source, 'RS256'), await activeKey(source, 'ES256'), await activeKey(target, 'RS256')];
  const before = await dbJson(target);

  const dryRun = await importing(target, file, '--dry-run');
  assert.equal(dryRun.code, 1, 'the same command without --dry-run would be refused');
  assert.match(dryRun.out, new RegExp(`^  add +signing key ${sourceRsa} \\(RS256\\) active in the file; here active: will sign$`, 'm'));
  assert.match(dryRun.out, new RegExp(`^  add +signing key ${sourceEc} \\(ES256\\) active in the file; here active: will sign$`, 'm'));
  assert.match(dryRun.out, new RegExp(`^  retire +signing key ${targetRsa} \\(RS256\\) of this installation: active here; then retired: published for verification only, never signs$`, 'm'));
  assert.match(dryRun.err, /^Dry run: nothing was written\. Without --dry-run the import would be refused: it would change these records of this installation; give --replace to replace them:$/m);
  assert.match(dryRun.err, new RegExp(`^  - signing key ${targetRsa} \\(RS256, active here\\) would be retired: the imported RS256 key takes its place$`, 'm'));
  assert.match(dryRun.err, /^With --replace: 2 added, 0 replaced, 0 unchanged, 2 signing keys of this installation retired\.$/m);
  assert.equal(await dbJson(target), before, 'nothing written');
  const event = await lastImportEvent(target);
  assert.deepEqual([event.outcome, event.reason, event.conflicts, event.retiredKeys], ['info', 'dry-run', 2, 2]);

  // As before: with --replace, a fresh installation signs with the imported keys.
  const imported = await importing(target, file, '--replace');
  assert.equal(imported.code, 0, imported.err);
  await serverSees(target, { [sourceRsa]: 'active', [sourceEc]: 'active', [targetRsa]: 'retired' });
});

test('an older export does not bring back a key this installation rotated away from: it comes in retired, and the newer key keeps signing, unless --activate-imported-keys', async () => {
  const source = await installation();
  const file = await exported(source);
  const target = await installation();
  const [oldRsa, sourceEc] = [await activeKey(source, 'RS256'), await activeKey(source, 'ES256')];
  assert.equal((await importing(target, file, '--replace')).code, 0);
  const newRsa = await rotate(target, 'RS256');
  assert.equal((await cli(target, 'keys', 'remove', oldRsa, '--force')).code, 0);
  await serverSees(target, { [newRsa]: 'active', [oldRsa]: 'removed' });

  // The same (older) file again, e.g. to restore a deleted SP.
  const dryRun = await importing(target, file, '--replace', '--dry-run', '--restore-removed-keys');
  assert.equal(dryRun.code, 0, dryRun.err);
  assert.match(dryRun.out, new RegExp(`^  add +signing key ${oldRsa} \\(RS256\\) active in the file; here retired: published for verification only, never signs$`, 'm'));
  assert.match(dryRun.out, new RegExp(`^  unchanged +signing key ${sourceEc} \\(ES256\\) active in the file; here active: will sign$`, 'm'));
  assert.doesNotMatch(dryRun.out, /retire +signing key/, "this installation's key is not retired");
  assert.match(dryRun.out, new RegExp(`^Warning: this installation's RS256 key ${newRsa} \\(activated .* UTC\\) signs here, and the file does not retire it: the file may predate a rotation made here\\. ${newRsa} goes on signing; the file's ${oldRsa} does not take over\\. .*--activate-imported-keys`, 'm'));

  const imported = await importing(target, file, '--replace', '--restore-removed-keys');
  assert.equal(imported.code, 0, imported.err);
  assert.match(imported.out, /Imported: 1 added, 0 replaced, 1 unchanged\./);
  await assertStored(target, { [newRsa]: 'active', [oldRsa]: 'retired' });
  await serverSees(target, { [newRsa]: 'active', [oldRsa]: 'retired' });
  const jwks = (await (await fetch(`${target.app.url}/oidc/jwks`)).json()) as jose.JSONWebKeySet;
  assert.ok(jwks.keys.some((key) => key.kid === oldRsa), 'published for verification');
  const metadata = await (await fetch(`${target.app.url}/saml/metadata`)).text();
  const newCertificate = (await target.app.services.keys.active('RS256')).certificatePem!.replace(/-----[^-]+-----|\s/g, '');
  assert.equal([...metadata.matchAll(/<md:KeyDescriptor use="signing">/g)].length, 1, 'the SAML metadata keeps only the signing certificate');
  assert.ok(metadata.includes(newCertificate));

  assert.equal((await importing(target, file, '--quiet')).code, 0, 'importing it again changes nothing and needs no --replace');
  await assertStored(target, { [newRsa]: 'active', [oldRsa]: 'retired' });

  const forced = await importing(target, file, '--replace', '--activate-imported-keys', '--dry-run');
  assert.equal(forced.code, 0, forced.err);
  assert.match(forced.out, new RegExp(`^  replace +signing key ${oldRsa} \\(RS256\\) active in the file; here active: will sign$`, 'm'));
  assert.match(forced.out, new RegExp(`^  retire +signing key ${newRsa} \\(RS256\\) of this installation: active here`, 'm'));
  await assertStored(target, { [newRsa]: 'active', [oldRsa]: 'retired' });
});

test('a newer export takes over from the key it retired; a key retired here stays retired when an older file says active', async () => {
  const source = await installation();
  const first = await exported(source);
  const target = await installation();
  const firstRsa = await activeKey(source, 'RS256');
  assert.equal((await importing(target, first, '--replace')).code, 0);
  await serverSees(target, { [firstRsa]: 'active' });

  const secondRsa = await rotate(source, 'RS256');
  const second = await exported(source);
  const newer = await importing(target, second, '--replace');
  assert.equal(newer.code, 0, newer.err);
  assert.match(newer.out, new RegExp(`^  add +signing key ${secondRsa} \\(RS256\\) active in the file; here active: will sign$`, 'm'));
  assert.match(newer.out, new RegExp(`^  replace +signing key ${firstRsa} \\(RS256\\) retired in the file; here retired: published for verification only, never signs$`, 'm'));
  assert.doesNotMatch(newer.out, /Warning: .*signing key/);
  await assertStored(target, { [secondRsa]: 'active', [firstRsa]: 'retired' });
  await serverSees(target, { [secondRsa]: 'active', [firstRsa]: 'retired' });

  const older = await importing(target, first, '--replace');
  assert.equal(older.code, 0, older.err);
  assert.match(older.out, new RegExp(`^  unchanged +signing key ${firstRsa} \\(RS256\\) active in the file; here retired: published for verification only, never signs$`, 'm'));
  assert.match(older.out, new RegExp(`^Warning: signing key ${firstRsa} \\(RS256\\) is active in the file, but this installation retired it on .* UTC: it stays retired\\. --activate-imported-keys imports it as active\\.$`, 'm'));
  await assertStored(target, { [secondRsa]: 'active', [firstRsa]: 'retired' });
});

test('an imported key whose certificate ends within 90 days is imported with a warning', async () => {
  const source = await installation();
  const payload = openWithPassword(await readFile(await exported(source), 'utf8'), EXPORT_PASSWORD, CONFIG_EXPORT) as { signingKeys: Array<Record<string, unknown>> };
  // Made nearly ten years ago, so its certificate ends in 30 days.
  const madeThen = Date.now() - (10 * 365 + 2) * 86_400_000 + 30 * 86_400_000;
  const old = await signingKeys(source.app.services.store, source.app.services.box, { now: () => madeThen }, source.app.url).generate('RS256', 'active');
  const rsa = payload.signingKeys.findIndex((key) => key.alg === 'RS256');
  payload.signingKeys[rsa] = { id: old.id, alg: 'RS256', status: 'active', createdAt: old.createdAt, privateKeyPem: openPrivateKey(source.app.services.box, old), certificatePem: old.certificatePem };
  const file = join(work, 'old-certificate.json');
  await writeFile(file, sealWithPassword(payload, EXPORT_PASSWORD, CONFIG_EXPORT));

  const target = await installation();
  const dryRun = await importing(target, file, '--replace', '--dry-run');
  assert.equal(dryRun.code, 0, dryRun.err);
  assert.match(dryRun.out, new RegExp(`^Warning: signing key ${old.id}: its certificate expires on \\d{4}-\\d\\d-\\d\\d, within 90 days: rotate the key soon after the import`, 'm'));
});
