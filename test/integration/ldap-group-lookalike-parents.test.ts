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
// parents, for every member of the look-alike. Both ways round: the child spelled with the folded
// letter and the parent listing the plain one, and the parent listing the folded letter while the
// child is spelled plainly (a member value keyed as the policies fold would then name the child).
const PEOPLE = 'ou=people,dc=example,dc=org';
const GROUPS = 'ou=groups,dc=example,dc=org';
const group = (cn: string): string => `cn=${cn},${GROUPS}`;
const ERIN = { dn: `uid=erin,${PEOPLE}` };
const FRANK = { dn: `uid=frank,${PEOPLE}` };
const GINA = { dn: `uid=gina,${PEOPLE}` };
const HAL = { dn: `uid=hal,${PEOPLE}` };
const IVAN = { dn: `uid=ivan,${PEOPLE}` };
const JO = { dn: `uid=jo,${PEOPLE}` };
const KAI = { dn: `uid=kai,${PEOPLE}` };
const LEA = { dn: `uid=lea,${PEOPLE}` };
const MIA = { dn: `uid=mia,${PEOPLE}` };
const NED = { dn: `uid=ned,${PEOPLE}` };
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
  masse: [KAI.dn, LEA.dn], // the ss group: kai and lea
  'ma\u00dfe': ['cn=nobody,dc=example,dc=org'], // the ß group is the one in aufsicht
  crew: [LEA.dn],
  aufsicht: [group('ma\u00dfe'), group('crew')],
  editor: [MIA.dn, NED.dn], // the i group: mia and ned
  'ed\u0131tor': ['cn=nobody,dc=example,dc=org'], // the dotless ı group is the one in publishers
  writers: [NED.dn],
  publishers: [group('ed\u0131tor'), group('writers')],
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

test('a ß group and its ss look-alike, both the user\'s, each get only their own parents: straße is not credited with strasse\'s', async () => {
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

test('an ss group does not get the parents of its ß look-alike when the parent lists the ß spelling', async () => {
  const uncached = (await resolveGroups(search, groupsConfig, PEOPLE, KAI)).names;
  assert.deepEqual(uncached, ['masse'], 'slapd keeps masse out of aufsicht, which lists maße');
  const parents = new GroupParents(60_000);
  assert.ok((await resolveGroups(search, groupsConfig, PEOPLE, LEA, parents)).names.includes('aufsicht'), 'lea is in aufsicht through crew');
  assert.deepEqual((await resolveGroups(search, groupsConfig, PEOPLE, KAI, parents)).names, uncached);
});

test('a group spelled with i does not get the parents of its dotless ı look-alike when the parent lists the ı spelling', async () => {
  const uncached = (await resolveGroups(search, groupsConfig, PEOPLE, MIA)).names;
  assert.deepEqual(uncached, ['editor'], 'slapd keeps editor out of publishers, which lists ed\u0131tor');
  const parents = new GroupParents(60_000);
  assert.ok((await resolveGroups(search, groupsConfig, PEOPLE, NED, parents)).names.includes('publishers'), 'ned is in publishers through writers');
  assert.deepEqual((await resolveGroups(search, groupsConfig, PEOPLE, MIA, parents)).names, uncached);
});
