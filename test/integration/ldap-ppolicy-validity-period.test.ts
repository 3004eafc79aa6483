import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change } from 'ldapts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { PEOPLE, personLdif, slapdDirectoryInput, withDirectory } from '../helpers/ldap-directory.ts';
import { ldapChange } from '../helpers/ldap-admin.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';

/**
 * OpenLDAP 2.5's ppolicy gives an account a validity period (pwdStartTime, pwdEndTime): outside it
 * slapd refuses every bind, as for a locked account. An account whose period ended after its sign-in
 * must get nothing more from its session (SSO reuse, refresh, userinfo ask findUserById), as an AD
 * account past accountExpires gets nothing.
 */
const ALICE_DN = `uid=alice,${PEOPLE}`;
const ALICE_ID = '5a1e0000-0000-4000-8000-0000000000a1';
const PASSWORD = 'Passw0rd!alice';
const setTime = (type: 'pwdStartTime' | 'pwdEndTime', value: string) => ldapChange(slapd, ALICE_DN, new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) }));
const clear = (type: 'pwdStartTime' | 'pwdEndTime') => ldapChange(slapd, ALICE_DN, new Change({ operation: 'replace', modification: new Attribute({ type, values: [] }) }));

let slapd: SlapdHandle;
before(async () => {
  slapd = await startSlapd({ ldif: [personLdif({ uid: 'alice', cn: 'Alice', sn: 'A', password: PASSWORD, entryUUID: ALICE_ID })], monitor: false });
});
after(async () => {
  await slapd?.stop();
});

const config = () => ldapDirectorySchema.parse(slapdDirectoryInput(slapd));

test('an account whose pwdEndTime has passed is gone for the sessions it already has, and its sign-in is refused', async () => {
  await withDirectory(config(), async (directory) => {
    assert.equal((await directory.authenticate('alice', PASSWORD)).ok, true);
    assert.equal((await directory.findUserById(ALICE_ID))?.username, 'alice');
    await setTime('pwdEndTime', '20200101000000Z');
    try {
      assert.equal(await directory.findUserById(ALICE_ID), null, 'ended: no assertion, token or userinfo');
      assert.deepEqual(await directory.authenticate('alice', PASSWORD), { ok: false, reason: 'invalid-credentials', accountId: ALICE_ID }, 'slapd refuses the bind');
      await setTime('pwdEndTime', '20991231000000Z');
      assert.equal((await directory.findUserById(ALICE_ID))?.username, 'alice', 'an end date still to come changes nothing');
      assert.equal((await directory.authenticate('alice', PASSWORD)).ok, true);
    } finally {
      await clear('pwdEndTime');
    }
  });
});

test('an account whose pwdStartTime is still to come (suspended until then) gets nothing from an existing session', async () => {
  await withDirectory(config(), async (directory) => {
    await setTime('pwdStartTime', '20991231000000Z');
    try {
      assert.equal(await directory.findUserById(ALICE_ID), null);
      assert.equal((await directory.authenticate('alice', PASSWORD)).ok, false);
      await setTime('pwdStartTime', '20200101000000Z');
      assert.equal((await directory.findUserById(ALICE_ID))?.username, 'alice', 'a start date passed changes nothing');
    } finally {
      await clear('pwdStartTime');
    }
  });
});
