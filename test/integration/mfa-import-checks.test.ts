import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { boot, type Booted } from '../helpers/boot.ts';
import { cliProcess, type CliRun } from '../helpers/cli.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import { toCodePage } from '../helpers/mfa-app-sign-in.ts';
import { oathtoolTotp, type OathOptions } from '../helpers/oathtool.ts';
import { until } from '../helpers/until.ts';
import { openWithPassword, sealWithPassword, type EnvelopeFormat } from '../../src/core/password-envelope.ts';
import { isBackupCodeNotice } from '../helpers/backup-code-notice.ts';

/**
 * `mfa import` of a file made with the right password by another tool, by hand or by someone who
 * knows the export password: it used to store whatever the file held, user by user, so a refused
 * file had already replaced the registrations before the bad one, and a registration with a 2-byte
 * secret or a period of 0 answered its user's every code with a 500. A registration it replaces
 * with another secret kept its backup codes, which went on signing the user in.
 */

const PASSWORD = 'correct horse 42';
const EXPORT_PASSWORD = 'export passphrase 42';
/** The file's format as `mfa export` writes it (a contract with files already made). */
const TOTP_EXPORT: EnvelopeFormat = { id: 'stepgate-totp-export', description: 'a Stepgate TOTP export' };
const NEW_SECRET = 'PBTWY3DPEHPK3PXPJBSWY3DPEHPK3AAA';

let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };
const secretKey = randomBytes(32).toString('base64');
let app: Booted;
let work: string;
let passwordFile: string;

interface Registered {
  id: string;
  username: string;
  secret: string;
  backupCodes: string[];
}

type FileRecord = Record<string, unknown>;

function cli(...words: string[]): Promise<CliRun> {
  return cliProcess(app, secretKey, words);
}

/** A local user with an authenticator app (codes from oathtool) and backup codes, set up as on "My security". */
async function registered(username: string): Promise<Registered> {
  const id = await createUser(app, { username, password: PASSWORD });
  const user = (await app.services.directory.findUserById(id))!;
  const { totp } = app.services.mfa;
  const view = await totp.enrollment.begin({ user, sessionId: `${username}-setup` });
  const finished = await totp.enrollment.finish({ user, sessionId: `${username}-setup`, ip: '127.0.0.1' }, oathtoolTotp(view.secret, now));
  assert.ok(finished.ok);
  return { id, username, secret: view.secret, backupCodes: finished.backupCodes as string[] };
}

/** Signs in to an application that requires MFA with the password, then `code`: whether it got through. */
async function signsIn(username: string, code: string): Promise<boolean> {
  const { browser, txId, page } = await toCodePage(app, { username, password: PASSWORD });
  const answer = await browser.submit(page, { code });
  assert.notEqual(answer.status, 500, answer.body);
  // A backup code taken is said to be used up before the sign-in goes on.
  if (isBackupCodeNotice(answer)) await browser.submit(answer);
  return app.finished.get(txId)?.ok === true;
}

/** The next time step's code from oathtool: each sign-in below uses a code not used before. */
function nextCode(secret: string, options?: OathOptions): string {
  now += 60_000;
  return oathtoolTotp(secret, now, options);
}

/** What `mfa export` wrote here, opened with the password as another tool would, for editing. */
async function exportedRecords(): Promise<FileRecord[]> {
  const file = join(work, `export-${randomBytes(4).toString('hex')}`);
  const run = await cli('mfa', 'export', '--out', file, '--password-file', passwordFile);
  assert.equal(run.code, 0, run.err);
  return (openWithPassword(await readFile(file, 'utf8'), EXPORT_PASSWORD, TOTP_EXPORT) as { users: FileRecord[] }).users;
}

/** A file sealed with the export password, as an edited export would be. */
async function sealed(payload: unknown): Promise<string> {
  const file = join(work, `crafted-${randomBytes(4).toString('hex')}`);
  await writeFile(file, sealWithPassword(payload, EXPORT_PASSWORD, TOTP_EXPORT), { mode: 0o600 });
  return file;
}

function importing(file: string, ...flags: string[]): Promise<CliRun> {
  return cli('mfa', 'import', '--in', file, '--password-file', passwordFile, ...flags);
}

async function lastImportEvent(): Promise<Record<string, unknown>> {
  const events = (await readFile(join(app.dataDir, 'audit.log'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  return events.filter((event) => event.type === 'mfa.import').at(-1)!;
}

before(async () => {
  app = await boot({}, { clock, secretKey });
  work = await mkdtemp(join(tmpdir(), 'stepgate-mfa-import-checks-'));
  passwordFile = join(work, 'export.pw');
  await writeFile(passwordFile, `${EXPORT_PASSWORD}\n`, { mode: 0o600 });
});
after(async () => {
  await app?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

test('a file with one bad registration is refused whole, naming it: the registrations before it are not replaced', async () => {
  const alice = await registered('alice');
  const bob = await registered('bob');
  const records = await exportedRecords();
  const byName = (name: string) => ({ ...records.find((record) => record.username === name)! });
  // bob first, with another app; then alice, whose secret is missing.
  const file = await sealed({ users: [{ ...byName('bob'), secret: NEW_SECRET }, { ...byName('alice'), secret: null }] });
  const before = await readFile(join(app.dataDir, 'db.json'), 'utf8');

  const run = await importing(file, '--replace');
  assert.equal(run.code, 1);
  assert.equal(await readFile(join(app.dataDir, 'db.json'), 'utf8'), before, 'db.json as it was');
  assert.equal(await signsIn('bob', nextCode(bob.secret)), true, "bob's app still signs him in");
  assert.equal(await signsIn('bob', nextCode(NEW_SECRET)), false, "the file's secret does not");
  assert.equal(run.err, `Import failed, nothing was changed: the registration of user id ${alice.id} ("alice"): secret: must be text in double quotes.`);
  const event = await lastImportEvent();
  assert.equal(event.outcome, 'failure');
  assert.equal(event.reason, 'invalid');
  assert.deepEqual(event.problems, [`the registration of user id ${alice.id} ("alice"): secret: must be text in double quotes`]);
});

test('registrations a sign-in could not check codes with are refused, each named by user id and field; the user still signs in', async () => {
  const carol = await registered('carol');
  const [record] = (await exportedRecords()).filter((candidate) => candidate.username === 'carol');
  const refused = async (payload: unknown, expected: string[]) => {
    const run = await importing(await sealed(payload), '--replace');
    assert.equal(run.code, 1, run.out);
    assert.equal(run.out, '');
    for (const problem of expected) assert.ok(run.err.includes(problem), `"${problem}" in:\n${run.err}`);
    assert.match(run.err, /^Import failed, nothing was changed/);
    assert.doesNotMatch(run.err, /argument|TypeError|Received/);
  };
  const carolField = (field: string) => `the registration of user id ${carol.id} ("carol"): ${field}: `;
  await refused({ users: [{ ...record, secret: 'AAAA', periodSeconds: 0, digits: 12 }] }, [
    `${carolField('secret')}holds 2 bytes; a TOTP secret has 16 (128 bits) to 64`,
    `${carolField('digits')}must be 6, 7 or 8`,
    `${carolField('periodSeconds')}must be at least 15`,
  ]);
  await refused({ users: [{ ...record, secret: 'not base32!!' }] }, [`${carolField('secret')}is not a Base32 secret`]);
  await refused({ users: [{ ...record, algorithm: 'md5' }] }, [`${carolField('algorithm')}must be one of`]);
  await refused({ users: [{ ...record, createdAt: 'yesterday' }] }, [`${carolField('createdAt')}must be a number`]);
  await refused({ users: [{ ...record, createdAt: 9e15 }] }, [`${carolField('createdAt')}must be a date (epoch milliseconds) no later than the year 275760`]);
  await refused({ users: [{ ...record, userId: 42 }] }, ['registration #1 in the file: userId: must be text in double quotes']);
  await refused({ users: [record, { ...record, secret: NEW_SECRET }] }, [`${carolField('userId')}the file has another registration of this user`]);
  await refused({ registrations: [record] }, ['the file: users: must be a list [ … ]']);

  assert.match((await cli('mfa', 'list', '--search', 'carol')).out, /carol\s+Active/);
  assert.equal(await signsIn('carol', nextCode(carol.secret)), true, "carol's app, as before the imports");
});

test('a registration replaced by another secret loses its backup codes, and the import says so; one with the same secret keeps them', async () => {
  const dora = await registered('dora');
  const emil = await registered('emil');
  const records = await exportedRecords();
  const byName = (name: string) => records.find((record) => record.username === name)!;
  const file = await sealed({ users: [{ ...byName('dora'), secret: NEW_SECRET }, byName('emil')] });

  const run = await importing(file, '--replace');
  assert.equal(run.code, 0, run.err);
  // The CLI is another process: the running server sees its writes when it reads the journal and db.json again.
  const { enrollments, backupCodes } = app.services.mfa;
  await until(async () => (await backupCodes.remaining(dora.id)) === 0 && enrollments.secretOf((await enrollments.get(dora.id))!) === NEW_SECRET, (seen) => seen, "the import's changes in the running server");
  assert.equal(await signsIn('dora', dora.backupCodes[0]!), false, "a backup code of dora's old registration");
  assert.equal(await signsIn('dora', nextCode(NEW_SECRET)), true, 'the imported app');
  assert.equal(await signsIn('emil', emil.backupCodes[0]!), true, "emil's registration is the same: his backup codes stay");
  assert.equal(await signsIn('emil', nextCode(emil.secret)), true);
  assert.equal(run.out, ['Imported 2 TOTP registrations.', 'The backup codes of 1 user were voided, as their registration now has another secret: dora. They make new ones on "My security".'].join('\n'));
  assert.equal((await lastImportEvent()).backupCodesVoided, 1);
});

test('mfa export and mfa import take --quiet: nothing printed on success', async () => {
  await registered('finn');
  const file = join(work, 'quiet.export');
  const exported = await cli('mfa', 'export', '--out', file, '--password-file', passwordFile, '--quiet');
  assert.deepEqual(exported, { code: 0, out: '', err: '' });
  assert.ok(existsSync(file));
  const imported = await importing(file, '--replace', '--quiet');
  assert.deepEqual(imported, { code: 0, out: '', err: '' });
  assert.equal((await lastImportEvent()).outcome, 'success');
});
