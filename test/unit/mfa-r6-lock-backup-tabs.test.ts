import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { VerifyResult } from '../../src/mfa/mfa-method.ts';
import { TOTP_TEST_SETTINGS as SETTINGS, enrollWithOathtool, openTotpStore, totpParts, type TotpStore } from '../helpers/totp-store.ts';

/** One backup code sent from several tabs at once: one tab is let in, the others are told "already used", and none counts as a wrong code. */

let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };

let totp: TotpStore;
let users = 0;

before(async () => {
  totp = await openTotpStore('stepgate-backup-tabs-', clock);
});
after(() => totp.remove());

async function enrolledUser() {
  const { method, state, backupCodes } = totpParts(totp, clock, SETTINGS);
  users += 1;
  const user = { id: `tabs-${users}`, username: `tabs${users}`, groups: [], attributes: {} };
  const enrolled = await enrollWithOathtool(method, user, now);
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
