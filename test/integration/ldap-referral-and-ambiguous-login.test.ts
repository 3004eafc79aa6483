import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { capture, PEOPLE, personLdif, slapdDirectoryInput, withDirectory } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';

// Two directory answers the admin must be able to act on: a base DN that is a referral (the entry is
// on another server, common with AD when the base lies in another domain) named as such with the way
// out, and one login matching two entries, logged with both DNs so the collision can be found.
const REMOTE = 'ou=remote,dc=example,dc=org';
const PASSWORD = 'Passw0rd!dup';

let slapd: SlapdHandle;

before(async () => {
  slapd = await startSlapd({
    monitor: false,
    ppolicy: false,
    ldif: [
      `dn: ${REMOTE}\nobjectClass: referral\nobjectClass: extensibleObject\nou: remote\nref: ldap://remote.example.org/${REMOTE}\n`,
      personLdif({ uid: 'dupa', cn: 'Dup A', sn: 'A', password: PASSWORD, mail: 'dup@example.org' }),
      // the same address to slapd: mail ignores case and trailing spaces
      `${personLdif({ uid: 'dupb', cn: 'Dup B', sn: 'B', password: PASSWORD })}mail:: ${Buffer.from('DUP@example.org ').toString('base64')}\n`,
    ],
  });
});

after(async () => {
  await slapd?.stop();
});

test('users.baseDn that is a referral: named as one, with the way out, at start-up and in directory test', async () => {
  const config = ldapDirectorySchema.parse({ ...slapdDirectoryInput(slapd, { baseDn: REMOTE }), accountState: { flavour: 'none' } });
  const expected = `users.baseDn ${REMOTE} is not held by this server: LDAP 10 referral: the server refers to another server for this entry, and Stepgate does not follow referrals; point directory.urls at a server that holds it (Active Directory: a domain controller of that domain, or the Global Catalog, ports 3268/3269, for a base spanning the forest)`;
  const baseDn = (await diagnoseLdap(config)).find((step) => step.step === 'base-dn');
  assert.deepEqual({ ok: baseDn?.ok, detail: baseDn?.detail }, { ok: false, detail: expected });
  await withDirectory(config, (directory) => assert.rejects(directory.startupCheck(), { message: `LDAP directory check failed: ${expected}` }));
});

test('one filter matching two entries: ldap.user.ambiguous logs both DNs, and the sign-in is refused', async () => {
  const { logger, lines } = capture();
  const config = ldapDirectorySchema.parse({ ...slapdDirectoryInput(slapd, { alternateLoginAttributes: ['mail'] }), accountState: { flavour: 'none' } });
  const outcome = await withDirectory(config, (directory) => directory.authenticate('dup@example.org', PASSWORD), logger);
  assert.ok(!outcome.ok && outcome.reason === 'invalid-credentials', JSON.stringify(outcome));
  const ambiguous = lines.find((line) => line['event'] === 'ldap.user.ambiguous');
  assert.deepEqual((ambiguous?.['dns'] as string[] | undefined)?.map((dn) => dn.toLowerCase()).sort(), [`uid=dupa,${PEOPLE}`, `uid=dupb,${PEOPLE}`]);
});
