import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, type SearchOptions } from 'ldapts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { resolveGroups } from '../../src/directory/ldap-groups.ts';
import { GroupParents } from '../../src/directory/ldap-group-parents.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import type { SearchFn } from '../../src/directory/ldap-filter.ts';

// Groups whose names differ only in a letter the policies fold and the directory does not: once a
// member of both signed in, the nested-group cache credited the look-alike with the real group's
// parents, for every member of the look-alike.
const PEOPLE = 'ou=people,dc=example,dc=org';
const GROUPS = 'ou=groups,dc=example,dc=org';
const group = (cn: string): string => `cn=${cn},${GROUPS}`;
const ERIN = { dn: `uid=erin,${PEOPLE}` };
const FRANK = { dn: `uid=frank,${PEOPLE}` };
const GINA = { dn: `uid=gina,${PEOPLE}` };
const HAL = { dn: `uid=hal,${PEOPLE}` };
const IVAN = { dn: `uid=ivan,${PEOPLE}` };
const JO = { dn: `uid=jo,${PEOPLE}` };
const TREE: Record<string, string[]> = {
  admin: [ERIN.dn],
  'adm\u0131n': [ERIN.dn, FRANK.dn], // dotless ı: another group to LDAP
  superusers: [group('admin')],
  strasse: [GINA.dn],
  'stra\u00dfe': [GINA.dn, HAL.dn], // ß: ss to Unicode case folding, another group to slapd
  auditors: [group('strasse')],
  kasse: ['cn=nobody,dc=example,dc=org'], // a member of kontrolle; ivan and jo are not in it
  'ka\u00dfe': [IVAN.dn, JO.dn],
  team: [JO.dn],
  kontrolle: [group('kasse'), group('team')],
};
const groupsConfig = ldapDirectorySchema.parse({
  kind: 'ldap',
  urls: ['ldap://127.0.0.1:1'],
  bind: { dn: 'cn=service,dc=x', password: 'secret' },
  users: { baseDn: PEOPLE },
  groups: { baseDn: GROUPS, nestedDepth: 2 },
}).groups;

let slapd: SlapdHandle;
let client: Client;
let search: SearchFn;

before(async () => {
  const ldif = Object.entries(TREE).map(([cn, members]) => `dn: ${group(cn)}\nobjectClass: groupOfNames\ncn: ${cn}\n${members.map((m) => `member: ${m}`).join('\n')}\n`);
  slapd = await startSlapd({ ldif, ppolicy: false });
  client = new Client({ url: slapd.url });
  await client.bind(slapd.serviceDn, slapd.servicePassword);
  search = (base: string, options: SearchOptions) => client.search(base, options);
});

after(async () => {
  await client?.unbind();
  await slapd?.stop();
});

test('a group spelled with a dotless ı does not get the parents of the group spelled with i', async () => {
  const uncached = (await resolveGroups(search, groupsConfig, PEOPLE, FRANK)).names;
  assert.ok(!uncached.includes('superusers'), 'the directory itself does not put frank in superusers');
  const parents = new GroupParents(60_000);
  assert.ok((await resolveGroups(search, groupsConfig, PEOPLE, ERIN, parents)).names.includes('superusers'));
  assert.deepEqual((await resolveGroups(search, groupsConfig, PEOPLE, FRANK, parents)).names.sort(), uncached.sort());
});

test('two groups that compare alike but are two to the directory are asked one at a time', async () => {
  const uncached = (await resolveGroups(search, groupsConfig, PEOPLE, HAL)).names;
  assert.deepEqual(uncached, ['stra\u00dfe'], 'slapd keeps straße and strasse apart');
  const parents = new GroupParents(60_000);
  assert.ok((await resolveGroups(search, groupsConfig, PEOPLE, GINA, parents)).names.includes('auditors'));
  assert.deepEqual((await resolveGroups(search, groupsConfig, PEOPLE, HAL, parents)).names, uncached);
});

test('a ß group does not get the parents of its ss look-alike through a parent found for another group', async () => {
  const uncached = (await resolveGroups(search, groupsConfig, PEOPLE, IVAN)).names;
  assert.ok(!uncached.includes('kontrolle'), 'the directory itself does not put ivan in kontrolle');
  const parents = new GroupParents(60_000);
  assert.ok((await resolveGroups(search, groupsConfig, PEOPLE, JO, parents)).names.includes('kontrolle'));
  assert.deepEqual((await resolveGroups(search, groupsConfig, PEOPLE, IVAN, parents)).names.sort(), uncached.sort());
});
