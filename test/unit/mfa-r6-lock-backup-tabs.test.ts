import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LowdbStore } from '../../src/store/lowdb-store.ts';
import { journalSealer } from '../../src/store/journal-sealer.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { TotpMethod, type TotpSettings } from '../../src/mfa/totp/totp-method.ts';
import { TotpEnrollments, type TotpEnrollment } from '../../src/mfa/totp/totp-enrollments.ts';
import { TotpStateStore } from '../../src/mfa/totp/totp-state.ts';
import { BackupCodes } from '../../src/mfa/totp/backup-codes.ts';
import type { VerifyResult } from '../../src/mfa/mfa-method.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';

/** One backup code sent from several tabs at once: one tab is let in, the others are told "already used", and none counts as a wrong code. */

const SETTINGS: TotpSettings = { issuer: 'Stepgate Test', digits: 6, periodSeconds: 30, algorithm: 'sha1', clockSkewSeconds: 30, maxFailures: 5, autoUnlockMinutes: 15, backupCodes: 10 };
let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };

let dir: string;
let store: LowdbStore;
let box: SecretBox;
let users = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-backup-tabs-'));
  box = new SecretBox(randomBytes(32));
  store = await new LowdbStore(dir, clock, { sealer: journalSealer(box) }).open();
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function enrolledUser() {
  const enrollments = new TotpEnrollments(store.collection<TotpEnrollment>('mfa-enrollments'), store.kv, box);
  const state = new TotpStateStore(store.kv);
  const backupCodes = new BackupCodes(store.kv, box);
  const method = new TotpMethod({ enrollments, state, backupCodes, clock, settings: SETTINGS });
  users += 1;
  const user = { id: `tabs-${users}`, username: `tabs${users}`, groups: [], attributes: {} };
  const view = await method.enrollment.begin({ user, sessionId: 'session-1' });
  const enrolled = await method.enrollment.finish({ user, sessionId: 'session-1', ip: '192.0.2.1' }, oathtoolTotp(view.secret, now));
  assert.ok(enrolled.ok);
  now += 60_000;
  return { user, state, backupCodes, codes: enrolled.backupCodes, verify: (code: string) => method.verify({ user, ip: '198.51.100.7' }, code) };
}

const tally = (results: VerifyResult[]) => results.map((result) => (result.ok ? 'ok' : result.reason)).sort();

for (const tabs of [5, 8]) {
  test(`the same backup code from ${tabs} tabs at once: one is let in, ${tabs - 1} are told "already used", none is a wrong code`, async () => {
    const { user, state, backupCodes, codes, verify } = await enrolledUser();
    const code = codes[0]!;
    const results = await Promise.all(Array.from({ length: tabs }, () => verify(code)));
    assert.deepEqual(tally(results), ['ok', ...Array(tabs - 1).fill('spent-backup-code')]);
    assert.equal(await backupCodes.remaining(user.id), SETTINGS.backupCodes - 1);
    const stored = await state.read(user.id);
    assert.deepEqual([stored.failures, stored.lockedAt], [0, undefined], 'no wrong code counted, no lock');
  });
}

test('tabs sending the same code after wrong ones: the tabs after the right one are "already used", not wrong codes', async () => {
  const { user, state, codes, verify } = await enrolledUser();
  const results = await Promise.all([verify('wrong-abcde'), verify('wrong-fghij'), ...Array.from({ length: 4 }, () => verify(codes[1]!))]);
  assert.deepEqual(tally(results), ['invalid', 'invalid', 'ok', 'spent-backup-code', 'spent-backup-code', 'spent-backup-code']);
  assert.equal((await state.read(user.id)).failures, 0, 'the right code cleared the two wrong ones; the spent ones added none');
});
