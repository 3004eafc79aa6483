import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, InsufficientAccessError, type SearchOptions } from 'ldapts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { withDirectory, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';
import { groupBaseOf } from '../../src/directory/ldap-derived-bases.ts';
import type { SearchFn } from '../../src/directory/ldap-filter.ts';

// Without groups.baseDn, groups are searched from the top of the users' part of the directory. A
// directory whose suffix has no dc= (o=corp: X.500 layouts, Oracle/Sun DS, eDirectory) must not have
// its groups searched under the users' OU, where there are none, and `directory test` says where it
// looked, and that it was the default.
const SUFFIX = 'o=corp';
const PEOPLE = `ou=people,${SUFFIX}`;
const GROUPS = `ou=groups,${SUFFIX}`;

let slapd: SlapdHandle;
let client: Client;
let searches: string[];
/** The service account's searches on one connection, each base DN noted. */
let search: SearchFn;

before(async () => {
  slapd = await startSlapd({
    baseDn: SUFFIX,
    baseEntries: false,
    ppolicy: false,
    monitor: false,
    ldif: [
      `dn: ${SUFFIX}\nobjectClass: organization\no: corp\n`,
      `dn: cn=service,${SUFFIX}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: service\nuserPassword: service-secret\n`,
      `dn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: people\n`,
      `dn: ${GROUPS}\nobjectClass: organizationalUnit\nou: groups\n`,
      `dn: uid=alice,${PEOPLE}\nobjectClass: inetOrgPerson\nuid: alice\ncn: Alice\nsn: A\nentryUUID: 0c0a0000-0000-4000-8000-000000000001\nuserPassword: alice-secret\n`,
      `dn: cn=staff,${GROUPS}\nobjectClass: groupOfNames\ncn: staff\nmember: uid=alice,${PEOPLE}\n`,
      `dn: cn=R&D\\2C Europe,${GROUPS}\nobjectClass: groupOfNames\ncn: R&D, Europe\nmember: cn=staff,${GROUPS}\n`,
    ],
  });
  client = new Client({ url: slapd.url });
  await client.bind(slapd.serviceDn, slapd.servicePassword);
  searches = [];
  search = (base: string, options: SearchOptions) => {
    searches.push(base);
    return client.search(base, options);
  };
});

after(async () => {
  await client?.unbind();
  await slapd?.stop();
});

function configFor(users: Record<string, unknown> = {}): LdapDirectoryConfig {
  return ldapDirectorySchema.parse({ ...slapdDirectoryInput(slapd, { baseDn: PEOPLE, ...users }), accountState: { flavour: 'none' } });
}

test('users under ou=people,o=corp and no groups.baseDn: the sign-in gets the groups under ou=groups,o=corp', async () => {
  const groups = await withDirectory(configFor(), async (directory) => {
    const outcome = await directory.authenticate('alice', 'alice-secret');
    assert.ok(outcome.ok, JSON.stringify(outcome));
    return outcome.user.groups;
  });
  assert.deepEqual(groups, ['staff', 'R&D, Europe']);
});

test("the default group base is the naming context users.baseDn lies in, from the root DSE, read once", async () => {
  const config = configFor();
  searches.length = 0;
  assert.deepEqual(await groupBaseOf(search, config.groups, PEOPLE), { dn: SUFFIX, defaulted: 'the naming context users.baseDn lies in' });
  assert.deepEqual(await groupBaseOf(search, config.groups, 'OU=People, O=Corp'), { dn: SUFFIX, defaulted: 'the naming context users.baseDn lies in' });
  assert.deepEqual(searches, [''], 'one root DSE read for this directory');
});

test('a root DSE that names no context, or that the server refuses (once): users.baseDn itself, which exists, not a guessed suffix that might not', async () => {
  const hidden: SearchFn = async (base, options) => (base === '' ? { searchEntries: [], searchReferences: [] } : client.search(base, options));
  assert.deepEqual(await groupBaseOf(hidden, configFor().groups, `ou=eng,${PEOPLE}`), { dn: `ou=eng,${PEOPLE}`, defaulted: 'users.baseDn: the server names no naming context it lies in' });
  let rootReads = 0;
  const refused: SearchFn = async (base, options) => {
    if (base !== '') return client.search(base, options);
    rootReads++;
    throw new InsufficientAccessError('no access to the root DSE');
  };
  for (let i = 0; i < 3; i++) assert.equal((await groupBaseOf(refused, configFor().groups, PEOPLE)).dn, PEOPLE);
  assert.equal(rootReads, 1, 'a refusal is an answer: not asked again at every sign-in');
});

test('users.baseDn with dc= parts keeps the dc= part as the default, without asking the root DSE', async () => {
  searches.length = 0;
  const fresh: SearchFn = (base, options) => search(base, options);
  const groups = ldapDirectorySchema.parse({ kind: 'ldap', urls: [slapd.url], bind: { dn: 'cn=x', password: 'x' }, users: { baseDn: 'ou=people,dc=example,dc=org' } }).groups;
  assert.deepEqual(await groupBaseOf(fresh, groups, 'ou=people,dc=example,dc=org'), { dn: 'dc=example,dc=org', defaulted: 'the dc= part of users.baseDn' });
  assert.deepEqual(await groupBaseOf(fresh, { ...groups, baseDn: GROUPS }, PEOPLE), { dn: GROUPS });
  assert.deepEqual(searches, []);
});

test('directory test names the group base it searched, and that it is the default', async () => {
  const steps = await diagnoseLdap(configFor(), { user: 'alice' });
  const groups = steps.find((step) => step.step === 'groups');
  assert.equal(groups?.detail, `2 group(s) under ${SUFFIX} (groups.baseDn not set: the naming context users.baseDn lies in): "staff", "R&D, Europe"`);
  assert.equal(groups.warning, undefined);
  const configured = await diagnoseLdap(ldapDirectorySchema.parse({ ...configFor(), groups: { baseDn: GROUPS } }), { user: 'alice' });
  assert.match(configured.find((step) => step.step === 'groups')?.detail ?? '', new RegExp(`^2 group\\(s\\) under ${GROUPS}: "staff", "R&D, Europe"$`));
});
