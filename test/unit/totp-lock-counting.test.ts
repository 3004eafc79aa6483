import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Regulator } from '../../src/regulation/regulator.ts';
import type { RegulationSettings } from '../../src/regulation/regulation.ts';
import { lockedUntil } from '../../src/mfa/totp/totp-state.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { TOTP_TEST_SETTINGS as SETTINGS, enrollWithOathtool, openTotpStore, totpParts, type TotpStore } from '../helpers/totp-store.ts';

/**
 * Which answers count as guesses, and where: the wrong code that starts a user's lock is a guess like
 * the ones before it, on the client's count too; a wrong backup code starts the lock as a wrong app
 * code does; answers of no code's shape are no guess at all.
 */
const MINUTE = 60_000;
const REGULATION: RegulationSettings = { maxFailuresPerUser: 5, maxFailuresPerIp: 8, windowSeconds: 300, lockoutSeconds: 900 };
let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };
let totp: TotpStore;
let users = 0;

before(async () => {
  totp = await openTotpStore('stepgate-lock-counting-', clock);
});
after(() => totp.remove());

async function enrolledUser(clients?: Regulator) {
  const { method, state } = totpParts(totp, clock, SETTINGS, clients);
  users += 1;
  const user = { id: `count-${users}`, username: `count${users}`, groups: [], attributes: {} };
  const { secret, backupCodes } = await enrollWithOathtool(method, user, now);
  now += 2 * MINUTE;
  const wrongCode = () => (oathtoolTotp(secret, now) === '000000' ? '111111' : '000000');
  const answer = (response: unknown, ip = '198.51.100.7') => method.verify({ user, ip }, response);
  return { user, state, backupCodes, answer, guess: (ip?: string) => answer(wrongCode(), ip) };
}

test('the wrong code that starts a user\'s lock counts on its client\'s count like the ones before it', async () => {
  const regulator = new Regulator(totp.store.kv, REGULATION, clock);
  const attacker = '203.0.113.20';
  const first = await enrolledUser(regulator);
  const second = await enrolledUser(regulator);
  let last;
  for (let i = 0; i < SETTINGS.maxFailures; i++) last = await first.guess(attacker);
  assert.ok(last && !last.ok && last.lockStarted === true, JSON.stringify(last));
  // maxFailuresPerIp (8) - maxFailures (5) = 3 more wrong codes from that client are checked, then it is locked.
  for (let i = 0; i < REGULATION.maxFailuresPerIp - SETTINGS.maxFailures; i++) assert.deepEqual(await second.guess(attacker), { ok: false, reason: 'invalid' }, `guess ${i + 1}`);
  const refused = await second.guess(attacker);
  assert.deepEqual(refused, { ok: false, reason: 'locked', lockedUntil: now + REGULATION.lockoutSeconds * 1000 }, 'the client is locked');
});

test('a wrong backup code that reaches maxFailures starts the lock and says so', async () => {
  const { answer, guess } = await enrolledUser();
  for (let i = 0; i < SETTINGS.maxFailures - 1; i++) assert.deepEqual(await guess(), { ok: false, reason: 'invalid' });
  assert.deepEqual(await answer('aaaaa-aaaaa'), { ok: false, reason: 'locked', lockedUntil: now + SETTINGS.autoUnlockMinutes! * MINUTE, lockStarted: true, lockCount: 1 });
});

test('letters of a backup code\'s alphabet in another length, or a code padded past 64 characters, are no code and no guess', async () => {
  const { answer, state, user } = await enrolledUser();
  for (const input of ['abcdefghi', 'abcd-efgh', 'abcdefghijk', `123456${' '.repeat(60)}`]) {
    assert.deepEqual(await answer(input), { ok: false, reason: 'malformed' }, JSON.stringify(input));
  }
  assert.equal((await state.read(user.id)).failures, 0);
});

test('a lock written by a version before lock counts lasts autoUnlockMinutes, as the first lock does', () => {
  const lockedAt = now;
  const older = { failures: SETTINGS.maxFailures, lockedAt };
  assert.equal(lockedUntil(older, lockedAt + 14 * MINUTE, SETTINGS), lockedAt + 15 * MINUTE);
  assert.equal(lockedUntil(older, lockedAt + 15 * MINUTE, SETTINGS), undefined);
});
