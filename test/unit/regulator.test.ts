import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import { testSealer } from '../helpers/journal-sealer.ts';
import type { KeyValue } from '../../src/store/store.ts';
import { Regulator } from '../../src/regulation/regulator.ts';
import { forgetSecretGuesses } from '../../src/regulation/counters.ts';
import { lockAuditFacts, type Admission } from '../../src/regulation/regulation.ts';
import { loginBucket } from '../../src/regulation/login-bucket.ts';

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

  test('per-IP counts take an IPv6 client by its /64, an IPv4 client by its address', async () => {
    const regulator = new Regulator(kv, { ...SETTINGS, maxFailuresPerIp: 3 }, clock);
    for (const [i, ip] of ['2001:db8:7:1::a', '2001:DB8:7:1:ffff:1:2:3', '2001:db8:7:1:0:0:0:b'].entries()) {
      const guess = await regulator.admit({ login: `v6-${i}` }, ip);
      assert.ok(guess.allowed, ip);
      await guess.attempt.failed();
    }
    assert.deepEqual(await regulator.admit({ login: 'v6-other' }, '2001:db8:7:1::c'), { allowed: false, until: now + 600_000, scope: 'ip', busy: false }, 'another address of the same /64');
    assert.equal((await regulator.admit({ login: 'v6-other' }, '2001:db8:7:2::a')).allowed, true, 'the next /64 is another client');
    for (const i of [1, 2, 3]) await (await regulator.admit({ login: `v4-${i}` }, '192.0.2.50') as Extract<Admission, { allowed: true }>).attempt.failed();
    assert.equal((await regulator.admit({ login: 'v4-other' }, '::ffff:192.0.2.50')).allowed, false, 'the IPv4-mapped spelling is the same client');
    assert.equal((await regulator.admit({ login: 'v4-other' }, '192.0.2.51')).allowed, true, 'the next IPv4 address is another client');
  });

  test("a familiar device's guesses count on the device: strangers' locks do not refuse it, its own failures lock only it", async () => {
    const regulator = new Regulator(kv, SETTINGS, clock);
    const device = { id: 'browser-1', account: 'account-gina' };
    for (let i = 0; i < 5; i++) await (await regulator.admit({ login: 'gina' }, '198.51.100.1') as Extract<Admission, { allowed: true }>).attempt.failed('account-gina');
    assert.equal((await regulator.admit({ login: 'gina' }, '192.0.2.1')).allowed, false, 'a stranger is refused');
    const atDevice = await regulator.admit({ login: 'GINA' }, '192.0.2.1', device);
    assert.ok(atDevice.allowed, 'the familiar device is not');
    assert.equal(await atDevice.attempt.lockAfterLookup('account-gina'), undefined, "nor by the account's lock");
    await atDevice.attempt.succeeded('account-gina');
    assert.equal(await regulator.lockedUntil({ login: 'gina' }), now + 600_000, "its sign-in does not lift the strangers' lock");

    const started: string[] = [];
    for (let i = 0; i < 5; i++) {
      const guess = await regulator.admit({ login: 'gina' }, '192.0.2.1', device);
      assert.ok(guess.allowed, `guess ${i + 1}`);
      started.push(...(await guess.attempt.failed('account-gina')).map((lock) => lock.scope));
    }
    assert.deepEqual(started, ['device']);
    assert.deepEqual(await regulator.admit({ login: 'gina' }, '192.0.2.1', device), { allowed: false, until: now + 600_000, scope: 'device', busy: false });
    assert.equal((await regulator.admit({ login: 'gina' }, '192.0.2.1', { id: 'browser-2', account: 'account-gina' })).allowed, true, 'another familiar device of hers is not locked');
    await regulator.unlock('gina', 'account-gina');
    assert.equal((await regulator.admit({ login: 'gina' }, '192.0.2.1', device)).allowed, true, 'user unlock lifts her devices\' locks too');
  });

  test('unlocking an account leaves the device locks of accounts whose ids start with its id', async () => {
    // With LDAP's idAttribute: uid the ids are user names: `user unlock bob` must not lift bobby's locks.
    const regulator = new Regulator(kv, SETTINGS, clock);
    const lockDevice = async (login: string, device: { id: string; account: string }) => {
      for (let i = 0; i < 5; i++) {
        const guess = await regulator.admit({ login }, '192.0.2.140', device);
        assert.ok(guess.allowed, `${device.account}: guess ${i + 1}`);
        await guess.attempt.failed(device.account);
      }
      assert.equal((await regulator.admit({ login }, '192.0.2.140', device)).allowed, false, `${device.account}'s device is locked`);
    };
    const bobbys = { id: 'browser-4', account: 'bobby' };
    const colons = { id: 'browser-5', account: 'a:b' };
    await lockDevice('bobby', bobbys);
    await lockDevice('ab', colons);
    await regulator.unlock('bob', 'bob');
    await regulator.unlock('a', 'a');
    assert.equal((await regulator.admit({ login: 'bobby' }, '192.0.2.140', bobbys)).allowed, false, "unlocking bob leaves bobby's device locked");
    assert.equal((await regulator.admit({ login: 'ab' }, '192.0.2.140', colons)).allowed, false, "unlocking a leaves a:b's device locked");
    await regulator.unlock('bobby', 'bobby');
    assert.equal((await regulator.admit({ login: 'bobby' }, '192.0.2.140', bobbys)).allowed, true, 'unlocking bobby lifts it');
  });

  test('a failure that starts several locks is audited with the latest lift: none lifts earlier than it says', () => {
    assert.deepEqual(lockAuditFacts([{ scope: 'ip', until: 5_000 }, { scope: 'login', until: 1_000 }, { scope: 'device', until: 3_000 }]), { lockStarted: ['ip', 'login', 'device'], lockedUntil: new Date(5_000).toISOString() });
    assert.deepEqual(lockAuditFacts([]), {});
  });

  test('a familiar device vouches only for its own account: at another (its name now names someone else), the name\'s lock applies', async () => {
    const regulator = new Regulator(kv, SETTINGS, clock);
    for (let i = 0; i < 5; i++) await (await regulator.admit({ login: 'hank' }, '198.51.100.1') as Extract<Admission, { allowed: true }>).attempt.failed();
    const device = { id: 'browser-3', account: 'account-of-old-hank' };
    const guess = await regulator.admit({ login: 'hank' }, '192.0.2.1', device);
    assert.ok(guess.allowed);
    assert.deepEqual(await guess.attempt.lockAfterLookup('account-of-new-hank'), { until: now + 600_000, scope: 'user' });
    await guess.attempt.abandoned();
  });

  test('guesses at a secret count per client, never for everyone; a new secret forgets them', async () => {
    const regulator = new Regulator(kv, SETTINGS, clock);
    const secret = { secret: 'bootstrap-test' };
    for (let i = 0; i < 5; i++) await (await regulator.admit(secret, `2001:db8:9:9::${i + 1}`) as Extract<Admission, { allowed: true }>).attempt.failed();
    assert.equal((await regulator.admit(secret, '2001:db8:9:9::99')).allowed, false, 'that /64 is locked out of it');
    const elsewhere = await regulator.admit(secret, '192.0.2.1');
    assert.ok(elsewhere.allowed, 'every other client is not');
    await elsewhere.attempt.abandoned();
    await forgetSecretGuesses(kv, 'bootstrap-test');
    assert.equal((await regulator.admit(secret, '2001:db8:9:9::99')).allowed, true);
  });

  test('login names are bucketed as directories match them', () => {
    for (const spelling of ['alice', 'ALICE', 'CORP\\alice', 'alice@corp.example', 'ａｌｉｃｅ', 'ali\u00adce', 'ali\u200bce', ' alice ']) assert.equal(loginBucket(spelling), 'alice', JSON.stringify(spelling));
    assert.equal(loginBucket('jo\u0308rg'), loginBucket('jörg'));
    assert.equal(loginBucket('jörg'), 'jorg', 'accents go: directories fold them differently');
    for (const spelling of ['ALİCE', 'alİce', 'Alıce']) assert.equal(loginBucket(spelling), 'alice', `${spelling}: dotted and dotless i`);
    assert.equal(loginBucket('STRAẞE'), loginBucket('strasse'));
  });
});

describe('Familiar devices', () => {
  const HOUR = 3_600_000;
  /** A browser's password sign-in for `session`, complete with or without a second factor. */
  async function signIn(regulator: Regulator, session: string, device: { id: string; account: string }, secondFactor: boolean) {
    await regulator.deviceProvedPassword(session, device, 'name-typed', now + HOUR);
    return regulator.deviceSignedIn(session, device.account, { secondFactor });
  }
  const familiar = async (regulator: Regulator, device: { id: string; account: string }) => (await regulator.familiar(device)) !== undefined;

  test('a password whose sign-in is not complete adds nothing; a complete one adds the browser with the name typed, for its cookie', async () => {
    const regulator = new Regulator(kv, SETTINGS, clock);
    const device = { id: 'laptop', account: 'account-ivy' };
    await regulator.deviceProvedPassword('session-ivy-1', device, 'IVY@corp', now + HOUR);
    assert.equal(await familiar(regulator, device), false, 'at the code page');
    assert.equal(await regulator.deviceSignedIn('session-ivy-1', 'account-other', { secondFactor: true }), undefined, 'a sign-in of that session for another account');
    assert.deepEqual(await regulator.deviceSignedIn('session-ivy-1', 'account-ivy', { secondFactor: false }), { device, login: 'IVY@corp' });
    assert.equal(await familiar(regulator, device), true);
    assert.equal(await regulator.deviceSignedIn('session-ivy-1', 'account-ivy', { secondFactor: false }), undefined, 'the next sign-in of the session on the password alone: nothing new, no cookie renewed');
    assert.deepEqual(await regulator.deviceSignedIn('session-ivy-1', 'account-ivy', { secondFactor: true }), { device, login: 'IVY@corp' }, 'one with the second factor');
    assert.equal(await regulator.deviceSignedIn('session-ivy-1', 'account-ivy', { secondFactor: true }), undefined);
    now += HOUR + 1_000;
    await regulator.deviceProvedPassword('session-ivy-2', { id: 'phone', account: 'account-ivy' }, 'ivy', now + HOUR);
    now += HOUR + 1_000;
    assert.equal(await regulator.deviceSignedIn('session-ivy-2', 'account-ivy', { secondFactor: false }), undefined, 'the session ended meanwhile');
  });

  test('sign-ins on the password alone never push out a browser that proved a second factor; among equals, the one that signed in longest ago goes', async () => {
    const regulator = new Regulator(kv, SETTINGS, clock);
    const account = 'account-jon';
    const usual = { id: 'usual', account };
    await signIn(regulator, 'jon-usual', usual, true);
    const others = Array.from({ length: 12 }, (_, i) => ({ id: `other-${i}`, account }));
    for (const [i, device] of others.entries()) await signIn(regulator, `jon-${i}`, device, false);
    assert.equal(await familiar(regulator, usual), true);
    assert.deepEqual(await Promise.all(others.map((device) => familiar(regulator, device))), [false, false, false, ...Array(9).fill(true)]);

    const proved = Array.from({ length: 10 }, (_, i) => ({ id: `proved-${i}`, account }));
    for (const [i, device] of proved.entries()) await signIn(regulator, `jon-proved-${i}`, device, true);
    assert.equal(await familiar(regulator, usual), false, 'ten newer browsers that proved a second factor push it out');
    assert.equal(await familiar(regulator, others[11]!), false, 'and every browser on the password alone before it');
    assert.equal(await signIn(regulator, 'jon-late', { id: 'late', account }, false), undefined, 'no cookie for a browser on the password alone: it finds no room among them');
    assert.equal(await familiar(regulator, { id: 'late', account }), false);
  });

  test('a forget between the password and the end of the sign-in keeps the browser out: it proved the password before', async () => {
    const regulator = new Regulator(kv, SETTINGS, clock);
    const device = { id: 'kiosk', account: 'account-kim' };
    await regulator.deviceProvedPassword('kim-1', device, 'kim', now + HOUR);
    await regulator.unlock('kim', 'account-kim');
    assert.equal(await regulator.deviceSignedIn('kim-1', 'account-kim', { secondFactor: true }), undefined);
    assert.equal(await familiar(regulator, device), false);
    assert.ok(await signIn(regulator, 'kim-2', device, false), 'a sign-in after the forget adds it');
    assert.equal(await familiar(regulator, device), true);
  });

  test('a forget that lands while the sign-in adds the browser keeps it out: the mark is checked in the write that adds', async () => {
    const device = { id: 'tablet', account: 'account-lou' };
    let regulator: Regulator | undefined;
    let forgotten = false;
    // The unlock arrives after the sign-in read the account's list and before it writes it back.
    const compareAndSet = async (...args: Parameters<KeyValue['compareAndSet']>) => {
      if (args[0] === 'familiar-devices' && !forgotten) {
        forgotten = true;
        await regulator!.unlock('lou', 'account-lou');
      }
      return kv.compareAndSet(...args);
    };
    const racing = new Proxy(kv, {
      get: (target, name) => (name === 'compareAndSet' ? compareAndSet : Reflect.get(target, name, target).bind?.(target) ?? Reflect.get(target, name, target)),
    });
    regulator = new Regulator(racing, SETTINGS, clock);
    await regulator.deviceProvedPassword('lou-1', device, 'lou', now + HOUR);
    assert.equal(await regulator.deviceSignedIn('lou-1', 'account-lou', { secondFactor: true }), undefined, 'no cookie');
    assert.ok(forgotten, 'the unlock ran inside the sign-in');
    assert.equal(await familiar(new Regulator(kv, SETTINGS, clock), device), false, 'not familiar after the unlock');
  });
});
