import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefusalPace } from '../../src/directory/ldap-refusal-pace.ts';

/** A pace on a clock the test sets, recording its waits; each sign-in's work takes `ms` before its refusal. */
function pace() {
  let now = 0;
  const waits: number[] = [];
  const refusalPace = new RefusalPace({ monotonic: () => now, pause: async (ms) => void waits.push(ms) });
  const signIn = (ms: number) => {
    const startedAt = refusalPace.start();
    now += ms;
    return startedAt;
  };
  return {
    waits,
    wrongPassword: (ms: number) => refusalPace.wrongPassword(signIn(ms)),
    unknownLogin: (ms: number) => refusalPace.unknownLogin(signIn(ms)),
  };
}

test('nothing is held back before the directory refused any wrong password', async () => {
  const { waits, unknownLogin } = pace();
  await unknownLogin(1);
  assert.deepEqual(waits, []);
});

test('unknown logins and wrong passwords are both held back until nine in ten of the recent wrong-password refusals would have ended', async () => {
  const { waits, wrongPassword, unknownLogin } = pace();
  // 20 refusals of 2 to 21 ms: nine in ten took at most 19 ms.
  for (let ms = 2; ms <= 21; ms++) await wrongPassword(ms);
  waits.length = 0;
  await unknownLogin(1);
  await wrongPassword(2);
  await unknownLogin(5);
  // Held to the median (11.5) and only the unknown logins, a wrong password of 2 ms stood out below every unknown login.
  assert.deepEqual(waits, [18, 17, 14]);
});

test('the fastest wrong passwords end no sooner than any unknown login', async () => {
  const { waits, wrongPassword, unknownLogin } = pace();
  for (const ms of [3, 9, 4, 8, 5, 7, 6, 2, 10, 4]) await wrongPassword(ms);
  const ended: Array<{ kind: string; after: number }> = [];
  for (const [kind, ms] of [['wrong', 2], ['unknown', 1], ['wrong', 3], ['unknown', 2]] as const) {
    waits.length = 0;
    await (kind === 'wrong' ? wrongPassword(ms) : unknownLogin(ms));
    ended.push({ kind, after: ms + (waits[0] ?? 0) });
  }
  assert.deepEqual(new Set(ended.map((e) => e.after)), new Set([9]), JSON.stringify(ended));
});

test('a few slow refusals among the recent ones do not hold sign-ins back for as long', async () => {
  const { waits, wrongPassword, unknownLogin } = pace();
  for (let i = 0; i < 29; i++) await wrongPassword(5);
  for (let i = 0; i < 3; i++) await wrongPassword(400);
  waits.length = 0;
  for (let i = 0; i < 100; i++) await unknownLogin(2);
  assert.deepEqual(new Set(waits), new Set([3]));
});

test('many slow unknown logins (anyone can send them) do not lower the pace of the next', async () => {
  const { waits, wrongPassword, unknownLogin } = pace();
  await wrongPassword(5);
  for (let i = 0; i < 50; i++) await unknownLogin(20);
  await unknownLogin(2);
  assert.deepEqual(waits, [3]);
});

test('a sign-in already as slow as the pace waits no longer', async () => {
  const { waits, wrongPassword, unknownLogin } = pace();
  await wrongPassword(40);
  await unknownLogin(1);
  await unknownLogin(60);
  await wrongPassword(30);
  assert.deepEqual(waits, [39, 10]);
});

test('a difference under a millisecond is waited too: where the directory answers in under one, rounding it held nothing back', async () => {
  const { waits, wrongPassword, unknownLogin } = pace();
  await wrongPassword(1.4);
  await unknownLogin(1);
  assert.equal(waits.length, 1);
  assert.ok(Math.abs(waits[0]! - 0.4) < 1e-9, String(waits[0]));
});

test('the wait ends no sooner than the pace, also for a fraction of a millisecond, which no timer can wait', async () => {
  const refusalPace = new RefusalPace();
  // A wrong password whose sign-in took 0.4 ms sets the pace.
  await refusalPace.wrongPassword({ startedAt: performance.now() - 0.4, waitedMs: 0 });
  for (let i = 0; i < 20; i++) {
    const signIn = refusalPace.start();
    await refusalPace.unknownLogin(signIn);
    const took = performance.now() - signIn.startedAt;
    assert.ok(took >= 0.4, `an unknown login ended after ${took.toFixed(3)} ms, before the pace of 0.4`);
  }
});

test('only the last 32 refusals count: older ones are replaced, round after round, and none is kept beyond them', async () => {
  const { waits, wrongPassword, unknownLogin } = pace();
  for (let i = 0; i < 32 * 3; i++) await wrongPassword(1000);
  for (let i = 0; i < 32; i++) await wrongPassword(20);
  waits.length = 0;
  await unknownLogin(5);
  assert.deepEqual(waits, [15]);
});

test('the time a sign-in waited for a pooled connection neither sets the pace nor counts toward it: a burst of queued refusals holds nobody back', async () => {
  let now = 0;
  const waits: number[] = [];
  const refusalPace = new RefusalPace({ monotonic: () => now, pause: async (ms) => void waits.push(ms) });
  const signIn = (queuedMs: number, workMs: number) => {
    const time = refusalPace.start();
    const connected = refusalPace.waitingForConnection(time);
    now += queuedMs;
    connected();
    now += workMs;
    return time;
  };
  for (let i = 0; i < 32; i++) await refusalPace.wrongPassword(signIn(0, 5));
  // One client sends many wrong passwords at once: each waits in the pool's queue, then takes 5 ms.
  for (let i = 0; i < 32; i++) await refusalPace.wrongPassword(signIn(20 * i, 5));
  waits.length = 0;
  await refusalPace.unknownLogin(signIn(0, 2));
  await refusalPace.wrongPassword(signIn(0, 1));
  // A sign-in that waited in the queue itself is held for the rest of the work, not of its wait.
  await refusalPace.unknownLogin(signIn(100, 2));
  assert.deepEqual(waits, [3, 4, 3]);
});

test('a refusal drops out after exactly 32 newer ones: three slow of the last 32 are fewer than one in ten', async () => {
  const { waits, wrongPassword, unknownLogin } = pace();
  for (let i = 0; i < 32; i++) await wrongPassword(1000);
  for (let i = 0; i < 29; i++) await wrongPassword(20);
  waits.length = 0;
  await unknownLogin(5);
  // A 33rd kept duration would leave four slow ones of 33, and the pace at 1000.
  assert.deepEqual(waits, [15]);
});

test('a sign-in one millisecond short of the pace waits that millisecond', async () => {
  const { waits, wrongPassword, unknownLogin } = pace();
  await wrongPassword(40);
  await unknownLogin(39);
  assert.deepEqual(waits, [1]);
});
