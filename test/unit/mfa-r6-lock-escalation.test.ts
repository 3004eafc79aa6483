import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Regulator } from '../../src/regulation/regulator.ts';
import type { RegulationSettings } from '../../src/regulation/regulation.ts';
import type { VerifyResult } from '../../src/mfa/mfa-method.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { TOTP_TEST_SETTINGS as SETTINGS, enrollWithOathtool, openTotpStore, totpParts, type TotpStore } from '../helpers/totp-store.ts';

/**
 * Someone with the password guessing codes: the wrong codes checked for one user must stay bounded
 * over any length of time (locks that lift by themselves must not start the count again), each lock
 * must last longer than the last, and one client must not guess codes across many users.
 */

const MINUTE = 60_000;
const REGULATION: RegulationSettings = { maxFailuresPerUser: 5, maxFailuresPerIp: 8, windowSeconds: 300, lockoutSeconds: 900 };
let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };

let totp: TotpStore;
let users = 0;

before(async () => {
  totp = await openTotpStore('stepgate-lock-escalation-', clock);
});
after(() => totp.remove());

async function enrolledUser(options: { clients?: Regulator } = {}) {
  const { method, state, admin } = totpParts(totp, clock, SETTINGS, options.clients);
  users += 1;
  const user = { id: `lock-${users}`, username: `lock${users}`, groups: [], attributes: {} };
  const { secret } = await enrollWithOathtool(method, user, now);
  now += 2 * MINUTE;
  const wrongCode = () => (oathtoolTotp(secret, now) === '000000' ? '111111' : '000000');
  const guess = (ip = '198.51.100.7') => method.verify({ user, ip }, wrongCode());
  const right = (ip = '198.51.100.7') => method.verify({ user, ip }, oathtoolTotp(secret, now));
  return { user, method, state, admin, guess, right };
}

const checked = (result: VerifyResult) => !result.ok && (result.reason === 'invalid' || result.lockStarted === true);

/** Guesses `maxFailures` wrong codes at once-a-second; returns the last answer (the one that starts a lock). */
async function guessUntilLocked(guess: () => Promise<VerifyResult>): Promise<VerifyResult> {
  let result: VerifyResult | undefined;
  for (let i = 0; i < SETTINGS.maxFailures; i++) {
    result = await guess();
    now += 1_000;
  }
  return result!;
}

test('a wrong code every 15 minutes for 5 days: at most 10 × maxFailures are ever checked, then only an administrator unlocks', async () => {
  const { user, guess, state } = await enrolledUser();
  let checkedCodes = 0;
  let locks = 0;
  for (let guesses = 0; guesses < 5 * 24 * 4; guesses++) {
    const result = await guess();
    if (checked(result)) checkedCodes += 1;
    if (!result.ok && result.lockStarted) locks += 1;
    now += 15 * MINUTE;
  }
  assert.equal(checkedCodes, 10 * SETTINGS.maxFailures, 'wrong codes checked');
  assert.equal(locks, 10);
  const last = await guess();
  assert.deepEqual(last, { ok: false, reason: 'locked', lockedUntil: null });
  assert.equal((await state.read(user.id)).failures, 10 * SETTINGS.maxFailures, 'locks that lifted by themselves kept the count');
});

test('each lock lasts twice as long as the one before, from autoUnlockMinutes up to a day; the tenth lasts until unlocked', async () => {
  const { guess } = await enrolledUser();
  const lengths: Array<number | null> = [];
  for (let lock = 1; lock <= 10; lock++) {
    const started = await guessUntilLocked(guess);
    assert.ok(!started.ok && started.lockStarted, `lock ${lock} started: ${JSON.stringify(started)}`);
    assert.equal(started.lockCount, lock, 'the audit can tell which lock in a row this is');
    const startedAt = now - 1_000;
    lengths.push(started.lockedUntil === null ? null : (started.lockedUntil! - startedAt) / MINUTE);
    if (started.lockedUntil !== null) now = started.lockedUntil! + 1_000;
  }
  assert.deepEqual(lengths, [15, 30, 60, 120, 240, 480, 960, 1440, 1440, null]);
});

test('a right code, or an administrator unlock, starts the counts again: the next lock is the first again', async () => {
  const { user, guess, right, admin } = await enrolledUser();
  for (const lift of [() => right(), () => admin.unlock(user.id)]) {
    const first = await guessUntilLocked(guess);
    now = (first as { lockedUntil: number }).lockedUntil + 1_000;
    const second = await guessUntilLocked(guess);
    assert.equal(!second.ok && second.lockedUntil! - (now - 1_000), 30 * MINUTE, 'the second lock in a row is longer');
    now = (second as { lockedUntil: number }).lockedUntil + 1_000;
    await lift();
    now += MINUTE;
    const again = await guessUntilLocked(guess);
    assert.equal(!again.ok && again.lockedUntil! - (now - 1_000), 15 * MINUTE, 'after the lift the lock is the first again');
    now = (again as { lockedUntil: number }).lockedUntil + 1_000;
    await right();
    now += MINUTE;
  }
});

test('wrong codes count per client too: one IP guessing at many users is locked on a count of its own, apart from its passwords', async () => {
  const regulator = new Regulator(totp.store.kv, REGULATION, clock);
  const attacked = await Promise.all(Array.from({ length: 6 }, () => enrolledUser({ clients: regulator })));
  const attacker = '203.0.113.9';
  const results: VerifyResult[] = [];
  // Two wrong codes per user: no user's own count comes near its lock.
  for (const user of attacked) for (let i = 0; i < 2; i++) results.push(await user.guess(attacker));
  const ipLocked = results.slice(REGULATION.maxFailuresPerIp);
  assert.deepEqual(results.slice(0, REGULATION.maxFailuresPerIp).map((result) => (result.ok ? 'ok' : result.reason)), Array(REGULATION.maxFailuresPerIp).fill('invalid'));
  for (const result of ipLocked) assert.deepEqual(result, { ok: false, reason: 'locked', lockedUntil: now + REGULATION.lockoutSeconds * 1000 });
  assert.equal((await attacked[5]!.right(attacker)).ok, false, 'a right code from the locked client is refused too');
  assert.equal((await attacked[5]!.method.startChallenge({ user: attacked[5]!.user, ip: attacker })).lockedUntil, now + REGULATION.lockoutSeconds * 1000, 'the code page says so');
  // An office behind one address: a code lock does not refuse its passwords, nor a password lock its codes.
  assert.equal((await regulator.admit({ login: 'someone' }, attacker)).allowed, true, 'its passwords are judged on their own count');
  assert.deepEqual(await attacked[5]!.right('198.51.100.80'), { ok: true, amr: 'otp' }, 'other clients are not');
});

test('an IPv6 client counts by its /64, and right and replayed codes do not count on it', async () => {
  const regulator = new Regulator(totp.store.kv, REGULATION, clock);
  const alice = await enrolledUser({ clients: regulator });
  const bob = await enrolledUser({ clients: regulator });
  for (let i = 0; i < 10; i++) {
    assert.equal((await alice.right('2001:db8:1:2::1')).ok, i === 0, 'the first right code passes, the others are replays');
  }
  for (let i = 0; i < REGULATION.maxFailuresPerIp; i++) {
    const result = await (i % 2 === 0 ? alice : bob).guess(`2001:db8:1:2::${(i + 10).toString(16)}`);
    assert.deepEqual(result, { ok: false, reason: 'invalid' }, `guess ${i + 1}: the replays before did not count`);
  }
  const refused = await bob.guess('2001:db8:1:2:ffff::1');
  assert.ok(!refused.ok && refused.reason === 'locked' && refused.lockStarted === undefined, JSON.stringify(refused));
  assert.equal((await alice.state.read(alice.user.id)).lastAttempt?.ip, '2001:db8:1:2::10', 'refused before it was checked: not the user\'s attempt');
});
