import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import type { KeyValue } from '../../src/store/store.ts';
import { Regulator, loginBucket, type Admission } from '../../src/regulation/regulator.ts';

const SETTINGS = { maxFailuresPerUser: 5, maxFailuresPerIp: 1000, windowSeconds: 300, lockoutSeconds: 600 };
let now = 1_000_000_000;
const clock = { now: () => now };
let dir: string;
let kv: JournalKeyValue;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepgate-regulator-'));
  kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer: testSealer() });
  await kv.open();
});
after(async () => {
  await kv.close();
  await rm(dir, { recursive: true, force: true });
});

const admitted = (admissions: Admission[]) => admissions.filter((admission): admission is Extract<Admission, { allowed: true }> => admission.allowed);

describe('Regulator', () => {
  test('of 20 guesses at once, 5 are admitted; failed, they lock the name for the lockout time', async () => {
    const regulator = new Regulator(kv, SETTINGS, clock);
    const first = await Promise.all(Array.from({ length: 20 }, () => regulator.admit({ login: 'alice' }, '192.0.2.1')));
    assert.equal(admitted(first).length, 5);
    assert.ok(first.every((admission) => admission.allowed || admission.busy), 'full only with guesses being checked: busy, not locked (the page says "wait a few seconds")');
    const started = await Promise.all(admitted(first).map((admission) => admission.attempt.failed()));
    assert.deepEqual(started.flat(), [{ scope: 'login', until: now + 600_000 }], 'exactly one failure tells it started the lock');
    const locked = await regulator.admit({ login: 'ALICE' }, '192.0.2.9');
    assert.deepEqual(locked, { allowed: false, until: now + 600_000, scope: 'user', busy: false });
    now += 601_000;
    assert.equal((await regulator.admit({ login: 'alice' }, '192.0.2.1')).allowed, true, 'the lock lifts by itself');
  });

  test('a lock lasts lockoutSeconds even when the window is longer: then the count starts again', async () => {
    const regulator = new Regulator(kv, { ...SETTINGS, windowSeconds: 3600, lockoutSeconds: 60 }, clock);
    for (let i = 0; i < 5; i++) {
      const guess = await regulator.admit({ login: 'frank' }, '192.0.2.1');
      assert.ok(guess.allowed);
      await guess.attempt.failed();
    }
    assert.equal((await regulator.admit({ login: 'frank' }, '192.0.2.1')).allowed, false);
    now += 61_000;
    const after = admitted(await Promise.all(Array.from({ length: 8 }, () => regulator.admit({ login: 'frank' }, '192.0.2.1'))));
    assert.equal(after.length, 5, 'the full limit again, not one guess and not none until the window ends');
    await Promise.all(after.map((guess) => guess.attempt.abandoned()));
  });

  test('a guess whose store read is slow, while the guesses in flight are settled as failures, is still refused', async () => {
    // A store that answers one read late (as a networked store may): it reads the value at the call and
    // answers after the others have stored their failures and given their places back.
    let slowNextGet = false;
    const slow: KeyValue = {
      get: <T,>(namespace: string, key: string): Promise<T | undefined> => {
        const value = kv.get<T>(namespace, key);
        if (!slowNextGet) return value;
        slowNextGet = false;
        return new Promise((resolve) => setTimeout(() => resolve(value), 50));
      },
      set: (...args) => kv.set(...args),
      delete: (...args) => kv.delete(...args),
      consume: (...args) => kv.consume(...args),
      compareAndSet: (...args) => kv.compareAndSet(...args),
      entries: (...args) => kv.entries(...args),
      count: (...args) => kv.count(...args),
    };
    const regulator = new Regulator(slow, SETTINGS, clock);
    const guesses = admitted(await Promise.all(Array.from({ length: 5 }, () => regulator.admit({ login: 'bob' }, '192.0.2.1'))));
    assert.equal(guesses.length, 5);
    slowNextGet = true;
    const late = regulator.admit({ login: 'bob' }, '192.0.2.1');
    await Promise.all(guesses.map((guess) => guess.attempt.failed()));
    assert.equal((await late).allowed, false, 'five failures were stored or in flight when it asked');
  });

  test('a right password clears the count, and costs no store write when there was none', async () => {
    const regulator = new Regulator(kv, SETTINGS, clock);
    const wrong = await regulator.admit({ login: 'carol' }, '192.0.2.1');
    assert.ok(wrong.allowed);
    await wrong.attempt.failed();
    const right = await regulator.admit({ login: 'carol' }, '192.0.2.1');
    assert.ok(right.allowed);
    await right.attempt.succeeded();
    assert.deepEqual((await kv.entries('regulation')).map(([key]) => key).filter((key) => key.includes('carol')), []);
    const clean = await regulator.admit({ login: 'dave' }, '192.0.2.77');
    assert.ok(clean.allowed);
    await clean.attempt.succeeded();
    assert.deepEqual((await kv.entries('regulation')).map(([key]) => key).filter((key) => key.includes('dave') || key.includes('192.0.2.77')), []);
  });

  test('failures by several login names of one account lock the account', async () => {
    const regulator = new Regulator(kv, SETTINGS, clock);
    for (const login of ['erin', 'erin.smith@example.org', 'erin', 'e.smith', 'erin']) {
      const admission = await regulator.admit({ login }, '192.0.2.1');
      assert.ok(admission.allowed, login);
      await admission.attempt.failed('account-erin');
    }
    assert.equal(await regulator.lockedUntil({ account: 'account-erin' }), now + 600_000);
    assert.equal((await regulator.admit({ login: 'e.smith' }, '192.0.2.1')).allowed, true, 'the name itself is not locked: the password step checks the account');
    await regulator.unlock('erin', 'account-erin');
    assert.equal(await regulator.lockedUntil({ account: 'account-erin' }), undefined);
  });

  test('login names are bucketed as directories match them', () => {
    for (const spelling of ['alice', 'ALICE', 'CORP\\alice', 'alice@corp.example', 'ａｌｉｃｅ', 'ali\u00adce', 'ali\u200bce', ' alice ']) assert.equal(loginBucket(spelling), 'alice', JSON.stringify(spelling));
    assert.equal(loginBucket('jo\u0308rg'), loginBucket('jörg'));
    assert.equal(loginBucket('jörg'), 'jorg', 'accents go: directories fold them differently');
    for (const spelling of ['ALİCE', 'alİce', 'Alıce']) assert.equal(loginBucket(spelling), 'alice', `${spelling}: dotted and dotless i`);
    assert.equal(loginBucket('STRAẞE'), loginBucket('strasse'));
  });
});
