import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import { Regulator } from '../../src/regulation/regulator.ts';
import type { Admission, Subject } from '../../src/regulation/regulation.ts';

/**
 * Where a count's edges are (a lock ends at its end time, a failure leaves the window windowSeconds
 * after it), and that a refused guess gives back every place it took: an attacker whose client is
 * locked must not use up a victim's places by guessing on, nor an account's own name count twice.
 */
const SETTINGS = { maxFailuresPerUser: 5, maxFailuresPerIp: 5, windowSeconds: 300, lockoutSeconds: 600 };
let now = 1_000_000_000;
const clock = { now: () => now };
let dir: string;
let kv: JournalKeyValue;
let ips = 0;
const freshIp = () => `192.0.2.${(ips += 1)}`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-regulator-edges-'));
  kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer: testSealer() });
  await kv.open();
});
after(async () => {
  await kv.close();
  await rm(dir, { recursive: true, force: true });
});

async function fail(regulator: Regulator, subject: Subject, ip: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const guess = await regulator.admit(subject, ip);
    assert.ok(guess.allowed, `guess ${i + 1} admitted`);
    await guess.attempt.failed();
  }
}

const allowed = (admission: Admission) => admission.allowed;

test('a lock ends at its end time: a guess then is admitted', async () => {
  const regulator = new Regulator(kv, SETTINGS, clock);
  await fail(regulator, { login: 'edge-lock' }, freshIp(), SETTINGS.maxFailuresPerUser);
  const lockedAt = now;
  now = lockedAt + SETTINGS.lockoutSeconds * 1000 - 1;
  assert.equal(allowed(await regulator.admit({ login: 'edge-lock' }, freshIp())), false);
  now = lockedAt + SETTINGS.lockoutSeconds * 1000;
  const admitted = await regulator.admit({ login: 'edge-lock' }, freshIp());
  assert.ok(admitted.allowed);
  await admitted.attempt.abandoned();
});

test('a failure leaves the window exactly windowSeconds after it', async () => {
  const regulator = new Regulator(kv, SETTINGS, clock);
  const ip = freshIp();
  await fail(regulator, { login: 'edge-window' }, ip, 1);
  now += SETTINGS.windowSeconds * 1000;
  await fail(regulator, { login: 'edge-window' }, ip, SETTINGS.maxFailuresPerUser - 1);
  const fifth = await regulator.admit({ login: 'edge-window' }, ip);
  assert.ok(fifth.allowed, 'the first failure is out of the window: four count, the fifth guess is admitted');
  await fifth.attempt.abandoned();
});

test('guesses refused on their client\'s count give the name\'s places back', async () => {
  const regulator = new Regulator(kv, SETTINGS, clock);
  const attacker = freshIp();
  await fail(regulator, { login: 'someone-else' }, attacker, SETTINGS.maxFailuresPerIp);
  for (let i = 0; i < 2 * SETTINGS.maxFailuresPerUser; i++) {
    const refused = await regulator.admit({ login: 'victim' }, attacker);
    assert.ok(!refused.allowed && refused.scope === 'ip', JSON.stringify(refused));
  }
  const owner = await regulator.admit({ login: 'victim' }, freshIp());
  assert.ok(owner.allowed, `the victim signs in from elsewhere: ${JSON.stringify(owner)}`);
  await owner.attempt.abandoned();
});

test('a guess at an account by its own id holds one place on it, not two', async () => {
  const regulator = new Regulator(kv, SETTINGS, clock);
  const ip = freshIp();
  await fail(regulator, { account: 'account-7' }, ip, SETTINGS.maxFailuresPerUser - 1);
  const last = await regulator.admit({ account: 'account-7' }, ip);
  assert.ok(last.allowed);
  assert.equal(await last.attempt.lockAfterLookup('account-7'), undefined, 'the fifth guess is checked');
  await last.attempt.abandoned();
});

test('guesses at once under other names of one account, each from a client of its own: maxFailuresPerUser reach its password', async () => {
  // The clients' counts allow more than an account's: the account's own count must be what refuses.
  const regulator = new Regulator(kv, { ...SETTINGS, maxFailuresPerIp: 4 * SETTINGS.maxFailuresPerUser }, clock);
  const guesses: Extract<Admission, { allowed: true }>[] = [];
  for (let i = 0; i < SETTINGS.maxFailuresPerUser + 2; i++) {
    const guess = await regulator.admit({ login: `burst-name-${i}` }, freshIp());
    assert.ok(guess.allowed);
    guesses.push(guess);
  }
  const refusals = [];
  for (const guess of guesses) refusals.push(await guess.attempt.lockAfterLookup('account-burst'));
  assert.equal(refusals.filter((refusal) => refusal === undefined).length, SETTINGS.maxFailuresPerUser);
  for (const refusal of refusals.slice(SETTINGS.maxFailuresPerUser)) assert.deepEqual(refusal, { until: now + 1_000, scope: 'account', busy: true });
  await Promise.all(guesses.map((guess) => guess.attempt.abandoned()));
});
