import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { TotpEnrollments, type TotpEnrollment } from '../../src/mfa/totp/totp-enrollments.ts';
import { exportTotp, importTotp } from '../../src/mfa/totp/totp-transfer.ts';
import { TotpStateStore } from '../../src/mfa/totp/totp-state.ts';
import { BackupCodes } from '../../src/mfa/totp/backup-codes.ts';

const clock = { now: () => 1_800_000_000_000 };
const PASSWORD = 'long enough passphrase';
let dir: string;
let stores: LowdbStore[] = [];

/** Two installations with different secret keys: the export must not depend on the key. */
async function installation(name: string) {
  const box = new SecretBox(randomBytes(32));
  const store = await new LowdbStore(join(dir, name), clock, { sealer: journalSealer(box) }).open();
  stores.push(store);
  const enrollments = new TotpEnrollments(store.collection<TotpEnrollment>('mfa-enrollments'), store.kv, box);
  writesOf.set(enrollments, { store, replayState: new TotpStateStore(store.kv), backupCodes: new BackupCodes(store.kv, box) });
  return enrollments;
}

/** Where an import into the installation writes, besides its registrations. */
const writesOf = new Map<TotpEnrollments, { store: LowdbStore; replayState: TotpStateStore; backupCodes: BackupCodes }>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-transfer-'));
});
after(async () => {
  await Promise.all(stores.map((store) => store.close()));
  stores = [];
  await rm(dir, { recursive: true, force: true });
});

const everyone = async () => true;

test('export and import move registrations between installations, encrypted with a password', async () => {
  const source = await installation('a');
  await source.put('id-1', 'alice', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', { digits: 6, periodSeconds: 30, algorithm: 'sha1' }, 1);
  await source.put('id-2', 'bob', 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU', { digits: 8, periodSeconds: 60, algorithm: 'sha256' }, 2);
  const { text, count } = await exportTotp(source, PASSWORD);
  assert.equal(count, 2);
  assert.equal(text.includes('JBSWY3DP'), false, 'no secret in clear in the file');
  assert.equal(text.includes('alice'), false, 'no usernames in clear either');

  const target = await installation('b');
  await target.put('id-2', 'bob', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', { digits: 6, periodSeconds: 30, algorithm: 'sha1' }, 3);
  assert.deepEqual(await importTotp(target, text, PASSWORD, { replace: false, userExists: everyone, ...writesOf.get(target)! }), { imported: 1, skipped: ['bob'], unknownUsers: [], backupCodesVoided: [], secretReplaced: [] });
  assert.equal(target.secretOf((await target.get('id-1'))!), 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
  assert.equal(target.secretOf((await target.get('id-2'))!), 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'kept without --replace');
  assert.deepEqual(await importTotp(target, text, PASSWORD, { replace: true, userExists: everyone, ...writesOf.get(target)! }), { imported: 2, skipped: [], unknownUsers: [], backupCodesVoided: [], secretReplaced: [{ id: 'id-2', username: 'bob' }] });
  assert.deepEqual({ ...(await target.get('id-2'))!, sealedSecret: '' }, { id: 'id-2', username: 'bob', sealedSecret: '', digits: 8, periodSeconds: 60, algorithm: 'sha256', createdAt: 2 });
});

test('registrations of users this installation does not have are named and not imported', async () => {
  const source = await installation('d');
  await source.put('id-1', 'alice', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', { digits: 6, periodSeconds: 30, algorithm: 'sha1' }, 1);
  await source.put('id-gone', 'ghost', 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU', { digits: 6, periodSeconds: 30, algorithm: 'sha1' }, 2);
  const { text } = await exportTotp(source, PASSWORD);
  const target = await installation('e');
  const outcome = await importTotp(target, text, PASSWORD, { replace: false, userExists: async (id) => id === 'id-1', ...writesOf.get(target)! });
  assert.deepEqual(outcome, { imported: 1, skipped: [], unknownUsers: ['ghost (id id-gone)'], backupCodesVoided: [], secretReplaced: [] });
  assert.equal(await target.get('id-gone'), undefined);
});

test('wrong password, altered file, short password and foreign files are refused', async () => {
  const source = await installation('c');
  await source.put('id-1', 'alice', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', { digits: 6, periodSeconds: 30, algorithm: 'sha1' }, 1);
  const { text } = await exportTotp(source, PASSWORD);
  await assert.rejects(importTotp(source, text, 'another long password', { replace: true, userExists: everyone, ...writesOf.get(source)! }), /password is wrong or the file was altered/);
  const altered = JSON.parse(text);
  altered.data = Buffer.from(Buffer.from(altered.data, 'base64').map((byte, i) => (i === 3 ? byte ^ 1 : byte))).toString('base64');
  await assert.rejects(importTotp(source, JSON.stringify(altered), PASSWORD, { replace: true, userExists: everyone, ...writesOf.get(source)! }), /password is wrong or the file was altered/);
  await assert.rejects(exportTotp(source, 'short'), /at least 12 characters/);
  await assert.rejects(importTotp(source, '{"format":"other"}', PASSWORD, { replace: true, userExists: everyone, ...writesOf.get(source)! }), /not a Stepgate TOTP export/);
});
