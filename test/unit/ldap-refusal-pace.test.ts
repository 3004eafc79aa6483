import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefusalPace } from '../../src/directory/ldap-refusal-pace.ts';

/** A pace on a clock the test sets, recording its waits; `bind` runs one bind that takes `ms`. */
function pace() {
  let now = 0;
  const waits: number[] = [];
  const refusalPace = new RefusalPace({ monotonic: () => now, pause: async (ms) => void waits.push(ms) });
  const bind = (ms: number) => {
    const startedAt = refusalPace.start();
    now += ms;
    return startedAt;
  };
  return {
    waits,
    wrongPassword: (ms: number) => refusalPace.refused(bind(ms)),
    unknownLogin: (ms: number) => refusalPace.paceUnknown(bind(ms)),
  };
}

test('an unknown login is not held back before the directory refused any wrong password', async () => {
  const { waits, unknownLogin } = pace();
  await unknownLogin(1);
  assert.deepEqual(waits, []);
});

test("unknown logins are held back until the median of the directory's recent refusals of a wrong password has passed", async () => {
  const { waits, wrongPassword, unknownLogin } = pace();
  for (const ms of [4, 6, 5]) wrongPassword(ms);
  for (let i = 0; i < 12; i++) await unknownLogin(2);
  // Not one refusal's duration picked at random (2, 3 or 4): unknown logins lasted the slower of two binds, longer than wrong passwords.
  assert.deepEqual(waits, Array(12).fill(3));
});

test('a few slow refusals among the recent ones do not hold unknown logins back for as long', async () => {
  const { waits, wrongPassword, unknownLogin } = pace();
  for (let i = 0; i < 29; i++) wrongPassword(5);
  for (let i = 0; i < 3; i++) wrongPassword(400);
  for (let i = 0; i < 100; i++) await unknownLogin(2);
  assert.deepEqual(new Set(waits), new Set([3]));
});

test("many slow unknown logins (anyone can send them) do not lower the pace of the next", async () => {
  const { waits, wrongPassword, unknownLogin } = pace();
  wrongPassword(5);
  for (let i = 0; i < 50; i++) await unknownLogin(20);
  await unknownLogin(2);
  assert.deepEqual(waits, [3]);
});

test('an unknown login whose bind was already as slow as a refusal waits no longer', async () => {
  const { waits, wrongPassword, unknownLogin } = pace();
  wrongPassword(40);
  await unknownLogin(1);
  await unknownLogin(60);
  await unknownLogin(30);
  assert.deepEqual(waits, [39, 10]);
});

test('a difference under half a millisecond holds no unknown login back: no timer fires that soon', async () => {
  const { waits, wrongPassword, unknownLogin } = pace();
  wrongPassword(1.4);
  await unknownLogin(1);
  wrongPassword(2.6);
  await unknownLogin(1);
  assert.deepEqual(waits, [1]);
});

test('only the last 32 refusals count: older ones are replaced, round after round, and none is kept beyond them', async () => {
  const { waits, wrongPassword, unknownLogin } = pace();
  for (let i = 0; i < 32 * 3; i++) wrongPassword(1000);
  for (let i = 0; i < 32; i++) wrongPassword(20);
  await unknownLogin(5);
  assert.deepEqual(waits, [15]);
});
