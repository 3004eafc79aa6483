import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { VerifyResult } from '../../src/mfa/mfa-method.ts';
import type { TotpSettings } from '../../src/mfa/totp/totp-method.ts';
import { TOTP_TEST_SETTINGS, enrollWithOathtool, openTotpStore, totpParts, type TotpStore } from '../helpers/totp-store.ts';

/**
 * Backup codes sent at once (a script, not a person): the lock must bound how many wrong ones are
 * checked, and a right one that comes after the lock has started must not get through.
 */

const MAX_FAILURES = 5;
const SETTINGS: TotpSettings = { ...TOTP_TEST_SETTINGS, maxFailures: MAX_FAILURES };
let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };

let totp: TotpStore;
let users = 0;

before(async () => {
  totp = await openTotpStore('stepgate-backup-race-', clock);
});
after(() => totp.remove());

/** A user with TOTP set up; `verify` answers their second step from one IP. */
async function enrolledUser() {
  const { method, state, backupCodes } = totpParts(totp, clock, SETTINGS);
  users += 1;
  const user = { id: `race-${users}`, username: `race${users}`, groups: [], attributes: {} };
  const enrolled = await enrollWithOathtool(method, user, now);
  now += 60_000;
  const verify = (code: string) => method.verify({ user, ip: '198.51.100.7' }, code);
  return { user, state, backupCodes, codes: enrolled.backupCodes, verify };
}

/** Well-formed backup codes (ten letters, the dash optional) that were never issued. */
function wrongCodes(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `wrong-${String.fromCharCode(97 + Math.floor(index / 26))}${String.fromCharCode(97 + (index % 26))}bcd`);
}

const tally = (results: VerifyResult[]) => results.map((result) => (result.ok ? 'ok' : result.reason)).sort().join(',');

test(`wrong backup codes sent at once: no more than maxFailures (${MAX_FAILURES}) of them are checked`, async () => {
  const { user, state, verify } = await enrolledUser();
  const results = await Promise.all(wrongCodes(30).map(verify));
  assert.ok(results.every((result) => !result.ok), tally(results));
  const stored = await state.read(user.id);
  assert.equal(stored.failures, MAX_FAILURES, `each checked code is counted: ${tally(results)}`);
  assert.notEqual(stored.lockedAt, undefined);
});

test('a right backup code sent with wrong ones, after them, is refused once they have started the lock; it stays unused and the lock stays', async () => {
  const { user, state, backupCodes, codes, verify } = await enrolledUser();
  const [right] = codes as [string];
  const results = await Promise.all([...wrongCodes(MAX_FAILURES).map(verify), verify(right)]);
  const last = results.at(-1)!;
  assert.ok(!last.ok && last.reason === 'locked', `the right code after the lock: ${JSON.stringify(last)}`);
  assert.equal(await backupCodes.remaining(user.id), SETTINGS.backupCodes, 'not spent');
  const stored = await state.read(user.id);
  assert.deepEqual([stored.failures, stored.lockedAt !== undefined], [MAX_FAILURES, true]);
});

test('a right backup code sent at once with fewer wrong ones than the limit is accepted and clears the count', async () => {
  const { user, state, codes, verify } = await enrolledUser();
  const [right] = codes as [string];
  const results = await Promise.all([...wrongCodes(MAX_FAILURES - 2).map(verify), verify(right)]);
  assert.deepEqual(results.at(-1), { ok: true, amr: 'otp', backupCodesLeft: SETTINGS.backupCodes - 1 });
  assert.equal(tally(results.slice(0, -1)), 'invalid,invalid,invalid');
  const stored = await state.read(user.id);
  assert.deepEqual([stored.failures, stored.lockedAt], [0, undefined]);
});
