import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { capture, PEOPLE, personLdif, withDirectory } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';

// The default groups.filter takes groupOfUniqueNames as well as groupOfNames, and the default
// groups.memberAttribute is member. A directory whose groups are all groupOfUniqueNames then shows
// no member value anywhere: the cause is the attribute, not an access rule, and the message says so.
const BASE = 'dc=example,dc=org';
const UNIQUE_GROUPS = `ou=unique,${BASE}`;
const PLAIN_GROUPS = `ou=plain,${BASE}`;
const ALICE = `uid=alice,${PEOPLE}`;

let slapd: SlapdHandle;

before(async () => {
  slapd = await startSlapd({
    monitor: false,
    ppolicy: false,
    ldif: [
      personLdif({ uid: 'alice', cn: 'alice', sn: 'alice', password: 'Passw0rd!x' }),
      `dn: ${UNIQUE_GROUPS}\nobjectClass: organizationalUnit\nou: unique\n`,
      `dn: cn=contractors,${UNIQUE_GROUPS}\nobjectClass: groupOfUniqueNames\ncn: contractors\nuniqueMember: ${ALICE}\n`,
      `dn: ${PLAIN_GROUPS}\nobjectClass: organizationalUnit\nou: plain\n`,
      `dn: cn=staff,${PLAIN_GROUPS}\nobjectClass: groupOfNames\ncn: staff\nmember: ${ALICE}\n`,
    ],
  });
});

after(async () => {
  await slapd?.stop();
});

function configFor(groups: Record<string, unknown>): LdapDirectoryConfig {
  return ldapDirectorySchema.parse({
    kind: 'ldap', urls: [slapd.url], connectTimeoutMs: 2000, searchTimeoutMs: 2000,
    bind: { dn: slapd.serviceDn, password: slapd.servicePassword },
    users: { baseDn: PEOPLE }, groups, accountState: { flavour: 'none' },
  });
}

test('groupOfUniqueNames groups read by member: the start-up error and directory test name uniqueMember and the settings, not access rules', async () => {
  const config = configFor({ baseDn: UNIQUE_GROUPS });
  const expected = `no group under ${UNIQUE_GROUPS} shows a member value (groups.memberAttribute) to the service account ${slapd.serviceDn}, but groups there list their members in uniqueMember: set groups.memberAttribute to "uniqueMember" and groups.filter to "(objectClass=groupOfUniqueNames)"`;
  const { logger, lines } = capture();
  await withDirectory(config, (directory) => directory.startupCheck(), logger);
  const hidden = lines.filter((line) => line['event'] === 'ldap.groups.members-hidden');
  assert.deepEqual(hidden.map((line) => line['msg']), [`every user is in no group, so a rule denying a group admits everyone: ${expected}`], JSON.stringify(lines));

  const steps = await diagnoseLdap(config, { user: 'alice' });
  const groups = steps.find((step) => step.step === 'groups');
  assert.equal(groups?.warning, expected, JSON.stringify(steps));
});

test('groupOfNames groups read by uniqueMember: the message names member', async () => {
  const steps = await diagnoseLdap(configFor({ baseDn: PLAIN_GROUPS, memberAttribute: 'uniqueMember' }), { user: 'alice' });
  const baseDn = steps.find((step) => step.step === 'base-dn');
  assert.match(baseDn?.warning ?? '', /but groups there list their members in member: set groups\.memberAttribute to "member" \(or leave it out: it is the default\)$/u, JSON.stringify(steps));
});
