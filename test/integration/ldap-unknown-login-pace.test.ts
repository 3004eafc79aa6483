import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { personLdif, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { LdapDirectory } from '../../src/directory/ldap-directory.ts';

// slapd's ppolicy commits pwdFailureTime for a wrong password on an entry, and has nothing to write
// for a bind as a DN that does not exist: measured, 4 ms against 1.5 ms, which tells which logins
// exist. The directory's binds are timed here on a clock the test moves by `step` per reading.
const PASSWORD = 'Passw0rd!alice';

let slapd: SlapdHandle;

before(async () => {
  slapd = await startSlapd({ ldif: [personLdif({ uid: 'alice', cn: 'Alice', sn: 'A', password: PASSWORD })], monitor: false });
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
    assert.deepEqual(pauses, [39], "the unknown login's sign-in took 1, the wrong password's 40");

    const fastWrong = await directory.authenticate('alice', 'guess');
    assert.equal(!fastWrong.ok && fastWrong.reason, 'invalid-credentials');
    assert.deepEqual(pauses, [39, 38], 'a wrong password faster than the pace (40 of the two kept) waits too: it took 1, then 1 more to read the clock');

    clock.step = 60;
    await directory.authenticate('nobody', 'guess');
    assert.deepEqual(pauses, [39, 38], 'a sign-in slower than the pace waits no longer');
  } finally {
    await directory.close();
  }
});
