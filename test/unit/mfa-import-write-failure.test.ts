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

/**
 * Every registration of an import goes in one write of the store: when it fails (a full disk), not
 * one of them is in, though the registrations before the failure used to be.
 */

const PASSWORD = 'long enough passphrase';
const PARAMETERS = { digits: 6, periodSeconds: 30, algorithm: 'sha1' } as const;
let dir: string;
let store: LowdbStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-import-write-'));
});
after(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

test('an import whose write fails stores none of its registrations, and says the data directory could not be written', async () => {
  const box = new SecretBox(randomBytes(32));
  store = await new LowdbStore(dir, { now: () => 1_800_000_000_000 }, { sealer: journalSealer(box) }).open();
  const enrollments = new TotpEnrollments(store.collection<TotpEnrollment>('mfa-enrollments'), store.kv, box);
  await enrollments.put('id-1', 'alice', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', PARAMETERS, 1);
  await enrollments.put('id-2', 'bob', 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU', PARAMETERS, 2);
  const { text } = await exportTotp(enrollments, PASSWORD);
  await enrollments.put('id-1', 'alice', 'PBTWY3DPEHPK3PXPJBSWY3DPEHPK3AAA', PARAMETERS, 3);
  await enrollments.put('id-2', 'bob', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', PARAMETERS, 4);
  const before = await enrollments.list();

  const fullDisk = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const importing = importTotp(enrollments, text, PASSWORD, {
    replace: true,
    userExists: async () => true,
    store: { putAll: () => Promise.reject(fullDisk) },
    replayState: new TotpStateStore(store.kv),
    backupCodes: new BackupCodes(store.kv, box),
  });
  await assert.rejects(importing, { name: 'TotpImportWriteError', message: 'the data directory could not be written (ENOSPC)' });
  assert.deepEqual(await enrollments.list(), before);
});
