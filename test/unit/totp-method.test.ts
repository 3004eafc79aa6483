import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TotpMethod, type TotpSettings } from '../../src/mfa/totp/totp-method.ts';
import { TotpEnrollments, type TotpEnrollment } from '../../src/mfa/totp/totp-enrollments.ts';
import { TotpStateStore } from '../../src/mfa/totp/totp-state.ts';
import { BackupCodes } from '../../src/mfa/totp/backup-codes.ts';
import type { User } from '../../src/core/types.ts';
import { oathtoolTotp, type OathOptions } from '../helpers/oathtool.ts';
import { ENROLLING_SESSION as SESSION, TOTP_TEST_SETTINGS as DEFAULTS, enrollWithOathtool, openTotpStore, totpParts, type TotpStore } from '../helpers/totp-store.ts';

const STEP = 30_000;
/** 15 s into a time step, so ±30 s lands in the neighbouring steps and not on a boundary. */
const START = Math.floor(Date.parse('2026-11-22T10:00:00Z') / STEP) * STEP + 15_000;
let now = START;
const clock = { now: () => now };

let totp: TotpStore;
let counter = 0;

function build(settings: Partial<TotpSettings> = {}) {
  const { method, state, admin } = totpParts(totp, clock, { ...DEFAULTS, ...settings });
  return { method, state, admin };
}

function newUser(): User {
  counter += 1;
  return { id: `user-${counter}`, username: `user${counter}`, groups: [], attributes: {} };
}

/** Enrolls a fresh user with a code made by oathtool; returns the secret and backup codes. Time then moves past every skew window. */
async function enrolled(settings: Partial<TotpSettings> = {}, oath: OathOptions = {}) {
  const built = build(settings);
  const user = newUser();
  const { secret, backupCodes } = await enrollWithOathtool(built.method, user, now, oath);
  now += 10 * STEP; // the confirming code's step is spent; keep it out of reach of the skew tests
  const code = (at = now) => oathtoolTotp(secret, at, oath);
  const verify = (response: unknown) => built.method.verify({ user, ip: '198.51.100.7' }, response);
  return { ...built, user, secret, backupCodes, code, verify };
}

before(async () => {
  totp = await openTotpStore('stepgate-totp-', clock);
});
after(() => totp.remove());

describe('TOTP enrollment', () => {
  test('activated only by a current code; a wrong or malformed code leaves it pending', async () => {
    const { method } = build();
    const user = newUser();
    const view = await method.enrollment.begin({ user, sessionId: SESSION });
    assert.match(view.secret, /^[A-Z2-7]{32}$/);
    assert.match(view.uri, /^otpauth:\/\/totp\/Stepgate%20Test:user\d+\?/);
    assert.equal((await method.enrollment.begin({ user, sessionId: SESSION })).secret, view.secret, 'a reload shows the same secret');
    const wrong = String((Number(oathtoolTotp(view.secret, now)) + 1) % 1_000_000).padStart(6, '0');
    assert.deepEqual(await method.enrollment.finish({ user, sessionId: SESSION, ip: '192.0.2.1' }, wrong), { ok: false, reason: 'invalid' });
    assert.deepEqual(await method.enrollment.finish({ user, sessionId: SESSION, ip: '192.0.2.1' }, 'abcdef'), { ok: false, reason: 'malformed' });
    assert.equal(await method.isEnrolled(user), false);
    const done = await method.enrollment.finish({ user, sessionId: SESSION, ip: '192.0.2.1' }, oathtoolTotp(view.secret, now));
    assert.ok(done.ok && done.amr === 'otp');
    assert.equal(done.ok && done.backupCodes.length, 10);
    assert.ok(done.ok && done.backupCodes.every((code) => /^[a-z2-7]{5}-[a-z2-7]{5}$/.test(code)));
    assert.equal(await method.isEnrolled(user), true);
    assert.deepEqual(await method.enrollment.finish({ user, sessionId: SESSION, ip: '192.0.2.1' }, oathtoolTotp(view.secret, now)), { ok: false, reason: 'expired' }, 'no second activation');
    assert.deepEqual(await method.verify({ user, ip: '192.0.2.1' }, oathtoolTotp(view.secret, now)), { ok: false, reason: 'replayed' }, 'the confirming code is spent');
  });

  test('a first setup confirmed once the user is set up, or a replacement once the registration is gone: "expired", nothing changes', async () => {
    const { method, user, verify, code } = await enrolled();
    // A secret shown by a setup page before the user was set up in another browser: showing one does not look.
    const late = await method.enrollment.begin({ user, sessionId: 'other-browser' });
    assert.deepEqual(await method.enrollment.finish({ user, sessionId: 'other-browser', ip: '192.0.2.1' }, oathtoolTotp(late.secret, now)), { ok: false, reason: 'expired' });
    assert.deepEqual(await verify(code()), { ok: true, amr: 'otp' }, 'the registration in place still answers');

    const unregistered = newUser();
    const view = await method.enrollment.begin({ user: unregistered, sessionId: SESSION });
    const replacement = await method.enrollment.finish({ user: unregistered, sessionId: SESSION, ip: '192.0.2.1' }, oathtoolTotp(view.secret, now), { replacing: true });
    assert.deepEqual(replacement, { ok: false, reason: 'expired' });
    assert.equal(await method.isEnrolled(unregistered), false, 'a replacement never becomes a first registration');
    now += 10 * STEP;
  });

  test('the secret is stored sealed: not in clear in db.json or the kv journal', async () => {
    const { secret } = await enrolled();
    const files = await Promise.all(['db.json', 'kv.journal'].map((name) => readFile(join(totp.dir, name), 'utf8').catch(() => '')));
    for (const text of files) assert.equal(text.includes(secret), false);
    assert.match(files[0]!, /"sealedSecret": "v1\./);
  });

  test('digits, period and algorithm are configurable (8 digits, 60 s, SHA-256)', async () => {
    const oath = { digits: 8, periodSeconds: 60, algorithm: 'sha256' as const };
    const { verify, code } = await enrolled({ digits: 8, periodSeconds: 60, algorithm: 'sha256' }, oath);
    now += 60_000;
    assert.match(code(), /^\d{8}$/);
    assert.deepEqual(await verify(code()), { ok: true, amr: 'otp' });
  });
});

describe('TOTP verification', () => {
  test('replay: a code accepted once is refused the second time', async () => {
    const { verify, code } = await enrolled();
    const first = code();
    assert.deepEqual(await verify(first), { ok: true, amr: 'otp' });
    assert.deepEqual(await verify(first), { ok: false, reason: 'replayed' });
    now += STEP;
    assert.deepEqual(await verify(code()), { ok: true, amr: 'otp' }, 'the next step is fine');
  });

  test('replay: two concurrent requests with the same code, exactly one passes', async () => {
    for (let round = 0; round < 5; round++) {
      const { verify, code } = await enrolled();
      const same = code();
      const results = await Promise.all([verify(same), verify(same), verify(same)]);
      assert.equal(results.filter((result) => result.ok).length, 1, JSON.stringify(results));
      assert.ok(results.filter((result) => !result.ok).every((result) => !result.ok && result.reason === 'replayed'));
    }
  });

  const skewCases: Array<[number, number, boolean]> = [
    [30, -60_000, false],
    [30, -30_000, true],
    [30, 0, true],
    [30, 30_000, true],
    [30, 60_000, false],
    [0, -30_000, false],
    [0, 30_000, false],
    [90, -90_000, true],
    [90, -120_000, false],
    [90, 90_000, true],
    [90, 120_000, false],
  ];
  for (const [skew, offset, accepted] of skewCases) {
    test(`clock skew ${skew} s: a code from ${offset / 1000} s is ${accepted ? 'accepted' : 'refused'}`, async () => {
      const { verify, code } = await enrolled({ clockSkewSeconds: skew });
      const result = await verify(code(now + offset));
      assert.equal(result.ok, accepted, JSON.stringify(result));
    });
  }

  test('wrong length and non-numeric input is refused as malformed and does not count towards the lock', async () => {
    const { verify, code, state, user } = await enrolled({ maxFailures: 2 });
    for (const input of ['12345', '1234567', 'abcdef', '12a456', '', '   ', undefined, 123456, ['123456'], '١٢٣٤٥٦', 'x'.repeat(100)]) {
      assert.deepEqual(await verify(input), { ok: false, reason: 'malformed' }, JSON.stringify(input));
    }
    assert.equal((await state.read(user.id)).failures, 0);
    const spaced = code().replace(/^(\d{3})/, '$1 ');
    assert.deepEqual(await verify(spaced), { ok: true, amr: 'otp' }, 'a space in the middle is tolerated');
  });

  test('N wrong codes lock; the correct code is refused while locked; the lock lifts by itself', async () => {
    const { verify, code, admin, user } = await enrolled({ maxFailures: 3, autoUnlockMinutes: 15 });
    const wrong = () => String((Number(code()) + 7) % 1_000_000).padStart(6, '0');
    assert.deepEqual(await verify(wrong()), { ok: false, reason: 'invalid' });
    assert.deepEqual(await verify(wrong()), { ok: false, reason: 'invalid' });
    assert.deepEqual(await verify(wrong()), { ok: false, reason: 'locked', lockedUntil: now + 15 * 60_000, lockStarted: true, lockCount: 1 });
    const lockedAt = now;
    assert.equal((await admin.statusOf(user)).status, 'Locked');
    now += STEP;
    assert.deepEqual(await verify(code()), { ok: false, reason: 'locked', lockedUntil: lockedAt + 15 * 60_000 });
    assert.deepEqual(await verify('abc'), { ok: false, reason: 'locked', lockedUntil: lockedAt + 15 * 60_000 });
    now = lockedAt + 15 * 60_000;
    assert.equal((await admin.statusOf(user)).status, 'Active');
    assert.deepEqual(await verify(code()), { ok: true, amr: 'otp' });
    now += STEP;
    assert.deepEqual(await verify(wrong()), { ok: false, reason: 'invalid' }, 'the count starts again from zero');
  });

  test('without auto-unlock only an administrator lifts the lock; status shows last attempt and success with IP', async () => {
    const { verify, code, admin, user } = await enrolled({ maxFailures: 1, autoUnlockMinutes: null });
    assert.deepEqual(await verify('000000' === code() ? '111111' : '000000'), { ok: false, reason: 'locked', lockedUntil: null, lockStarted: true, lockCount: 1 });
    now += 90 * 86_400_000;
    assert.equal((await verify(code())).ok, false);
    const locked = await admin.statusOf(user);
    assert.equal(locked.status, 'Locked');
    assert.equal(locked.lockedUntil, null);
    assert.deepEqual(locked.lastAttempt, { at: now, ip: '198.51.100.7', ok: false });
    await admin.unlock(user.id);
    assert.deepEqual(await verify(code()), { ok: true, amr: 'otp' });
    const active = await admin.statusOf(user);
    assert.deepEqual([active.status, active.lastSuccess], ['Active', { at: now, ip: '198.51.100.7' }]);
  });

  test('backup codes: single use, any case, with or without the dash; concurrent use passes once', async () => {
    const { verify, backupCodes, admin, user } = await enrolled();
    const [first, second, third] = backupCodes as [string, string, string];
    assert.deepEqual(await verify(first.toUpperCase()), { ok: true, amr: 'otp', backupCodesLeft: 9 });
    assert.deepEqual(await verify(first), { ok: false, reason: 'spent-backup-code' }, 'spent');
    assert.deepEqual(await verify(second.replace('-', '')), { ok: true, amr: 'otp', backupCodesLeft: 8 });
    const racing = await Promise.all([verify(third), verify(third)]);
    assert.equal(racing.filter((result) => result.ok).length, 1);
    assert.equal((await admin.statusOf(user)).backupCodesLeft, 7);
  });

  test('a backup code used before is told apart ("spent-backup-code") and does not count towards the lock; the lock still refuses it', async () => {
    const { verify, backupCodes, state, user } = await enrolled({ maxFailures: 2 });
    const [used, unused] = backupCodes as [string, string];
    assert.equal((await verify(used)).ok, true);
    for (let attempt = 0; attempt < 3; attempt++) assert.deepEqual(await verify(used.toUpperCase()), { ok: false, reason: 'spent-backup-code' });
    assert.equal((await state.read(user.id)).failures, 0, 'typing a crossed-off code again is no guess');
    assert.deepEqual(await verify('aaaaa-aaaaa'), { ok: false, reason: 'invalid', backupCode: true }, 'a code never issued is still just wrong (typed as a backup code)');
    assert.equal((await verify('bbbbb-bbbbb')).ok, false);
    assert.deepEqual(await verify(used), { ok: false, reason: 'locked', lockedUntil: now + 15 * 60_000 });
    assert.equal((await verify(unused)).ok, false, 'locked');
  });

  test('backup codes are refused while locked', async () => {
    const { verify, backupCodes } = await enrolled({ maxFailures: 1 });
    await verify('aaaaa-aaaaa');
    assert.equal((await verify(backupCodes[0])).ok, false);
  });

  test('backup codes are bound to their user: a set copied under another user\'s id takes none of its codes', async () => {
    const owner = await enrolled();
    const other = await enrolled();
    const copied = await totp.store.kv.get('mfa-backup-codes', owner.user.id);
    await totp.store.kv.set('mfa-backup-codes', other.user.id, copied);
    assert.deepEqual(await other.verify(owner.backupCodes[0]), { ok: false, reason: 'invalid', backupCode: true });
  });

  test('administrator table: search with wildcards, reset removes the registration', async () => {
    const { admin, user } = await enrolled();
    assert.deepEqual((await admin.list(`*${user.username.slice(2)}`)).map((row) => row.username), [user.username]);
    assert.equal(await admin.reset(user.id), true);
    assert.equal((await admin.statusOf(user)).status, 'Unregistered');
  });
});

describe('confirming a setup while another confirmation of the same user is being written', () => {
  test('the later one waits, then finds the user set up: "expired", never a confirmation that lost its pending secret half way', async () => {
    const enrollments = new TotpEnrollments(totp.store.collection<TotpEnrollment>('mfa-enrollments'), totp.store.kv, totp.box);
    // The registration write is held (a busy disk) until the second click has come: the window in
    // which it used to see its pending secret gone but no registration yet.
    const put = enrollments.put.bind(enrollments);
    const { promise: writing, resolve: entered } = Promise.withResolvers<void>();
    const { promise: released, resolve: release } = Promise.withResolvers<void>();
    enrollments.put = async (...args) => {
      entered();
      await released;
      return put(...args);
    };
    const method = new TotpMethod({ enrollments, state: new TotpStateStore(totp.store.kv), backupCodes: new BackupCodes(totp.store.kv, totp.box), clock, settings: DEFAULTS });
    const user = newUser();
    const view = await method.enrollment.begin({ user, sessionId: SESSION });
    const code = oathtoolTotp(view.secret, now);
    const first = method.enrollment.finish({ user, sessionId: SESSION, ip: '192.0.2.1' }, code);
    await writing; // the first has taken the pending secret and is writing
    const second = method.enrollment.finish({ user, sessionId: SESSION, ip: '192.0.2.1' }, code);
    // The timer only bounds how long a broken version would be given to answer out of turn.
    const meanwhile = await Promise.race([second.then(() => 'answered'), sleep(100).then(() => 'waiting')]);
    assert.equal(meanwhile, 'waiting', 'the second confirmation waits while the first one writes');
    release();
    const secondResult = await second;
    const setUpWhenAnswered = await method.isEnrolled(user);
    assert.deepEqual(secondResult, { ok: false, reason: 'expired' });
    assert.equal(setUpWhenAnswered, true, 'when it answers, the user is set up, so the page says so instead of showing a new secret');
    assert.equal((await first).ok, true);
    now += 10 * STEP;
  });
});
