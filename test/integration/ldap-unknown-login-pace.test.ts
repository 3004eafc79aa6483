import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { personLdif, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { LdapDirectory } from '../../src/directory/ldap-directory.ts';

// slapd's ppolicy commits pwdFailureTime for a wrong password on an entry, and has nothing to write
// for a bind as a DN that does not exist: measured, 4 ms against 1.5 ms, which tells which logins
// exist. The directory's binds are timed here on a clock the test moves by `step` per reading. A
// sign-in reads it when it starts, before and after each of its two waits for a pooled connection
// (the search's, the bind's), and at its refusal: the waits (a step each) do not count, so a sign-in
// counts three steps at its refusal, and four once it asks how long to wait.
const PASSWORD = 'Passw0rd!alice';

/** Wrong passwords sent at once, each for another user, on one bind connection and one search connection. */
const BURST = 30;

let slapd: SlapdHandle;

before(async () => {
  const others = Array.from({ length: BURST }, (_, i) => personLdif({ uid: `user${i}`, cn: `User ${i}`, sn: 'U', password: `${PASSWORD}${i}` }));
  slapd = await startSlapd({ ldif: [personLdif({ uid: 'alice', cn: 'Alice', sn: 'A', password: PASSWORD }), ...others], monitor: false });
});

after(async () => {
  await slapd?.stop();
});

function pacedDirectory() {
  const clock = { now: 0, step: 0 };
  const pauses: number[] = [];
  const directory = new LdapDirectory(ldapDirectorySchema.parse(slapdDirectoryInput(slapd)), {
    refusalPace: { monotonic: () => (clock.now += clock.step), pause: async (ms) => void pauses.push(ms) },
  });
  return { clock, pauses, directory };
}

test("an unknown login's refusal, and a fast wrong password's, wait as long as the directory took to refuse a wrong password", async () => {
  const { clock, pauses, directory } = pacedDirectory();
  try {
    clock.step = 1;
    assert.deepEqual(await directory.authenticate('nobody', 'guess'), { ok: false, reason: 'invalid-credentials' });
    assert.deepEqual(pauses, [], 'no wrong password seen yet: nothing to wait for');

    clock.step = 40;
    const wrong = await directory.authenticate('alice', 'guess');
    assert.equal(!wrong.ok && wrong.reason, 'invalid-credentials');
    clock.step = 500;
    assert.equal((await directory.authenticate('alice', PASSWORD)).ok, true, 'a right password paces nothing');
    assert.deepEqual(pauses, [], 'a known login is never held back');

    clock.step = 1;
    assert.deepEqual(await directory.authenticate('nobody', 'guess'), { ok: false, reason: 'invalid-credentials' });
    assert.deepEqual(pauses, [117], "the unknown login's sign-in took 3, the wrong password's 120");

    const fastWrong = await directory.authenticate('alice', 'guess');
    assert.equal(!fastWrong.ok && fastWrong.reason, 'invalid-credentials');
    assert.deepEqual(pauses, [117, 116], 'a wrong password faster than the pace (120 of the two kept) waits too: it took 3, then 1 more to read the clock');

    clock.step = 60;
    await directory.authenticate('nobody', 'guess');
    assert.deepEqual(pauses, [117, 116], 'a sign-in slower than the pace waits no longer');
  } finally {
    await directory.close();
  }
});

test('wrong passwords sent at once do not hold a later refusal as long as they queued for a connection', async () => {
  const pauses: number[] = [];
  const config = ldapDirectorySchema.parse({ ...slapdDirectoryInput(slapd), pool: { size: 1 } });
  const directory = new LdapDirectory(config, { refusalPace: { pause: async (ms) => void pauses.push(ms) } });
  try {
    const started = performance.now();
    await Promise.all(Array.from({ length: BURST }, (_, i) => directory.authenticate(`user${i}`, 'guess')));
    const burst = performance.now() - started;
    pauses.length = 0;
    assert.deepEqual(await directory.authenticate('nobody', 'guess'), { ok: false, reason: 'invalid-credentials' });
    // Queue time counted in, the pace was nine in ten of the burst's durations, most of `burst`.
    const held = pauses[0] ?? 0;
    assert.ok(held < burst / 3, `held ${held} ms after a burst that took ${burst.toFixed(1)} ms`);
  } finally {
    await directory.close();
  }
});

test('a password checked for an account named by its id (a re-authentication) neither sets the pace nor waits for it', async () => {
  const { clock, pauses, directory } = pacedDirectory();
  try {
    clock.step = 1;
    const signedIn = await directory.authenticate('alice', PASSWORD);
    assert.ok(signedIn.ok);
    clock.step = 40;
    const wrong = await directory.authenticateAccount(signedIn.user.id, 'guess');
    assert.equal(!wrong.ok && wrong.reason, 'invalid-credentials');
    clock.step = 1;
    assert.deepEqual(await directory.authenticate('nobody', 'guess'), { ok: false, reason: 'invalid-credentials' });
    assert.deepEqual(pauses, [], 'no wrong password of a sign-in by login yet: nothing to wait for');
  } finally {
    await directory.close();
  }
});
