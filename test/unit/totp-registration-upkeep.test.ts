import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TotpEnrollments, ENROLLMENT_COLLECTION, type TotpEnrollment } from '../../src/mfa/totp/totp-enrollments.ts';
import { TotpStateStore } from '../../src/mfa/totp/totp-state.ts';
import { maySetUpSecondFactor } from '../../src/mfa/enrollment-networks.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { TOTP_TEST_SETTINGS as SETTINGS, enrollWithOathtool, openTotpStore, totpParts, type TotpStore } from '../helpers/totp-store.ts';

/**
 * What a registration keeps around it: no other browser's unconfirmed secret once one is confirmed,
 * the user's current name, and a replay marker that a new registration starts without.
 */
let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };
let totp: TotpStore;
let users = 0;

before(async () => {
  totp = await openTotpStore('stepgate-registration-upkeep-', clock);
});
after(() => totp.remove());

function newUser() {
  users += 1;
  return { id: `upkeep-${users}`, username: `upkeep${users}`, groups: [], attributes: {} };
}

const enrollments = () => new TotpEnrollments(totp.store.collection<TotpEnrollment>(ENROLLMENT_COLLECTION), totp.store.kv, totp.box);

test('a confirmed setup drops the secrets other browsers were shown for the same user', async () => {
  const { method } = totpParts(totp, clock, SETTINGS);
  const user = newUser();
  await method.enrollment.begin({ user, sessionId: 'other-browser' });
  assert.ok(await enrollments().pending(user.id, 'other-browser'), 'shown in the other browser');
  await enrollWithOathtool(method, user, now);
  assert.equal(await enrollments().pending(user.id, 'other-browser'), undefined);
});

test('a right code from a renamed user stores the new name on the registration', async () => {
  const { method } = totpParts(totp, clock, SETTINGS);
  const user = newUser();
  const { secret } = await enrollWithOathtool(method, user, now);
  now += 120_000;
  const renamed = { ...user, username: `${user.username}-renamed` };
  assert.deepEqual(await method.verify({ user: renamed, ip: '198.51.100.7' }, oathtoolTotp(secret, now)), { ok: true, amr: 'otp' });
  assert.equal((await enrollments().get(user.id))?.username, renamed.username);
});

test('forgetting the last time step keeps the counts and forgets only the replay marker', async () => {
  const state = new TotpStateStore(totp.store.kv);
  const user = newUser();
  await state.update(user.id, () => ({ next: { failures: 2, lastStep: 12345 }, result: undefined }));
  await state.forgetLastStep(user.id);
  assert.deepEqual(await state.read(user.id), { failures: 2 });
});

test('moving the second factor to a new authenticator is held to the setup networks, as a first setup is', () => {
  const networks = compileNetworks({ office: ['192.0.2.0/24'] });
  const facts = { enrolledMethods: ['totp' as const], enrollmentNetworks: ['office'], networks };
  assert.equal(maySetUpSecondFactor({ ...facts, ip: '198.51.100.7', replacing: true }), false, 'outside the networks');
  assert.equal(maySetUpSecondFactor({ ...facts, ip: '192.0.2.7', replacing: true }), true, 'inside them');
  assert.equal(maySetUpSecondFactor({ ...facts, ip: '198.51.100.7' }), true, 'a further method of a user who has one is not held to them');
});
