import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change, Client, type SearchOptions } from 'ldapts';
import type { SlapdHandle } from '../../scripts/slapd.ts';
import { startConfiguredSlapd } from '../helpers/slapd-configured.ts';
import { asDirectoryAdmin, ldapChange } from '../helpers/ldap-admin.ts';
import { capture, withDirectory, slapdDirectoryInput } from '../helpers/ldap-directory.ts';
import { ldapDirectorySchema, type LdapDirectoryConfig } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';
import { rdnValue } from '../../src/directory/ldap-group-names.ts';
import { resolveGroups } from '../../src/directory/ldap-groups.ts';
import type { SearchFn } from '../../src/directory/ldap-filter.ts';

// `groups.mode: "memberOf"` is AD's: with nesting it asks for the whole chain with AD's in-chain
// matching rule, which OpenLDAP does not know (the filter is Undefined: no entry, no error). An
// administrator with OpenLDAP's memberOf overlay picks that mode naturally; the users must still get
// their groups, and `directory test` must say that the mode does not fit.
const SUFFIX = 'dc=example,dc=org';
const PEOPLE = `ou=people,${SUFFIX}`;
const GROUPS = `ou=groups,${SUFFIX}`;
const ALICE = `uid=alice,${PEOPLE}`;
const group = (cn: string): string => `cn=${cn},${GROUPS}`;
const SELF_SERVICE = `ou=selfservice,${SUFFIX}`;
const BOB = `uid=bob,${PEOPLE}`;

let slapd: SlapdHandle;

before(async () => {
  slapd = await startConfiguredSlapd({
    suffix: SUFFIX,
    modules: ['memberof.la'],
    database: [
      'access to attrs=userPassword by self write by anonymous auth by * none',
      'access to * by users read by * none',
      'overlay memberof',
      'memberof-group-oc groupOfNames',
      'memberof-member-ad member',
    ],
    ldif: [
      `dn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: people\n`,
      `dn: ${GROUPS}\nobjectClass: organizationalUnit\nou: groups\n`,
      `dn: ${ALICE}\nobjectClass: inetOrgPerson\nuid: alice\ncn: Alice\nsn: A\nuserPassword: alice-secret\n`,
    ].join('\n'),
  });
  // Added over LDAP, so that the overlay writes memberOf: alice is in staff, eng and loop-a directly;
  // staff is in all-staff, in company, in holding (three levels up); loop-a and loop-b hold each other.
  await asDirectoryAdmin(slapd, async (admin) => {
    const add = (cn: string, members: string[]) => admin.add(group(cn), { objectClass: 'groupOfNames', cn: rdnValue(group(cn)), member: members });
    await add('staff', [ALICE]);
    await add('R&D\\2C Europe', [ALICE]);
    await add('all-staff', [group('staff')]);
    await add('company', [group('all-staff')]);
    await add('holding', [group('company')]);
    await add('loop-a', [ALICE]);
    await add('loop-b', [group('loop-a')]);
    // bob is in staff, and in two entries that are no groups here, memberOf or not: one outside
    // groups.baseDn (a self-service OU users may fill), one inside it that groups.filter refuses.
    await admin.add(BOB, { objectClass: 'inetOrgPerson', uid: 'bob', cn: 'Bob', sn: 'B', userPassword: 'bob-secret' });
    await admin.modify(group('staff'), new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [BOB] }) }));
    await admin.add(SELF_SERVICE, { objectClass: 'organizationalUnit', ou: 'selfservice' });
    await admin.add(`cn=admins,${SELF_SERVICE}`, { objectClass: 'groupOfNames', cn: 'admins', member: [BOB] });
    await admin.add(group('unfiltered'), { objectClass: 'groupOfNames', cn: 'unfiltered', member: [BOB] });
  });
  await ldapChange(slapd, group('loop-a'), new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [group('loop-b')] }) }));
});

after(async () => {
  await slapd?.stop();
});

function configFor(groups: Record<string, unknown> = {}): LdapDirectoryConfig {
  return ldapDirectorySchema.parse({
    ...slapdDirectoryInput(slapd, { baseDn: PEOPLE }),
    groups: { mode: 'memberOf', baseDn: GROUPS, filter: '(objectClass=groupOfNames)', ...groups },
    accountState: { flavour: 'none' },
  });
}

/** Alice's groups with nestedDepth 2: her own three, and two levels above them (holding is a third). */
const NESTED = ['staff', 'R&D, Europe', 'loop-a', 'all-staff', 'loop-b', 'company'];

test('the overlay wrote memberOf, and slapd answers the in-chain filter with nothing and no error', async () => {
  await asDirectoryAdmin(slapd, async (admin) => {
    const { searchEntries: [alice] } = await admin.search(ALICE, { scope: 'base', attributes: ['memberOf'] });
    assert.equal([alice!['memberOf'] ?? []].flat().length, 3);
    const { searchEntries } = await admin.search(GROUPS, { filter: `(member:1.2.840.113556.1.4.1941:=${ALICE})` });
    assert.deepEqual(searchEntries, []);
  });
});

test('a sign-in with memberOf mode and nesting gets the direct groups from memberOf and the nested ones above them', async () => {
  for (const nestedCacheSeconds of [60, 0]) {
    const groups = await withDirectory(configFor({ nestedCacheSeconds }), async (directory) => {
      const outcome = await directory.authenticate('alice', 'alice-secret');
      assert.ok(outcome.ok, JSON.stringify(outcome));
      return outcome.user.groups;
    });
    assert.deepEqual([...groups].sort(), [...NESTED].sort(), `nestedCacheSeconds ${nestedCacheSeconds}`);
  }
});

test('the fallback keeps groups.baseDn and groups.filter: a memberOf value outside the base, or of an entry the filter refuses, is no group', async () => {
  const filtered = configFor({ filter: '(&(objectClass=groupOfNames)(!(cn=unfiltered)))' });
  const groups = await withDirectory(filtered, async (directory) => (await directory.findUser('bob'))?.groups ?? []);
  assert.deepEqual([...groups].sort(), ['all-staff', 'company', 'staff']);
  await asDirectoryAdmin(slapd, async (admin) => {
    const { searchEntries: [bob] } = await admin.search(BOB, { scope: 'base', attributes: ['memberOf'] });
    const memberOf = [bob!['memberOf'] ?? []].flat().map(String);
    assert.ok(memberOf.includes(`cn=admins,${SELF_SERVICE}`) && memberOf.includes(group('unfiltered')), 'the overlay lists both in memberOf');
  });
});

test('nestedDepth bounds the levels followed above the memberOf groups', async () => {
  const groups = await withDirectory(configFor({ nestedDepth: 3 }), async (directory) => (await directory.findUser('alice'))?.groups ?? []);
  assert.deepEqual([...groups].sort(), [...NESTED, 'holding'].sort());
});

test('the fallback is logged once per directory, naming groups.mode and groups.nestedDepth', async () => {
  const client = new Client({ url: slapd.url });
  await client.bind(slapd.serviceDn, slapd.servicePassword);
  try {
    const search: SearchFn = (base: string, options: SearchOptions) => client.search(base, options);
    const { logger, lines } = capture();
    const config = configFor();
    const user = { dn: ALICE, memberOf: ['staff', 'R&D\\2C Europe', 'loop-a'].map(group) };
    for (let i = 0; i < 2; i++) {
      const found = await resolveGroups(search, config.groups, config.users.baseDn, user, undefined, logger);
      assert.deepEqual([...found.names].sort(), [...NESTED].sort());
      assert.match(found.warning ?? '', /set groups\.mode "member" with a groups\.filter .*\(or groups\.nestedDepth 0/);
    }
    const logged = lines.filter((line) => line['event'] === 'ldap.groups.in-chain-unsupported');
    assert.equal(logged.length, 1);
    assert.equal(logged[0]!['level'], 40);
    assert.match(String(logged[0]!['msg']), /groups\.mode "memberOf".*3 memberOf value\(s\).*set groups\.mode "member"/);
  } finally {
    await client.unbind();
  }
});

test('sign-ins log the fallback once per directory', async () => {
  const { logger, lines } = capture();
  await withDirectory(
    configFor({ nestedCacheSeconds: 0 }),
    async (directory) => {
      for (let i = 0; i < 2; i++) assert.ok((await directory.authenticate('alice', 'alice-secret')).ok);
    },
    logger,
  );
  assert.equal(lines.filter((line) => line['event'] === 'ldap.groups.in-chain-unsupported').length, 1);
});

test('directory test warns at groups, with the groups found, each name quoted', async () => {
  const steps = await diagnoseLdap(configFor(), { user: 'alice' });
  const groups = steps.find((step) => step.step === 'groups');
  assert.ok(groups?.ok, JSON.stringify(steps));
  assert.match(groups.detail, new RegExp(`^6 group\\(s\\) under ${GROUPS}: `));
  for (const name of NESTED) assert.ok(groups.detail.includes(JSON.stringify(name)), `${name} in ${groups.detail}`);
  assert.match(groups.warning ?? '', /in-chain search of groups\.mode "memberOf" .* found no group, although the entry has 3 memberOf value\(s\).*set groups\.mode "member"/);
});

test('with nestedDepth 0 (memberOf alone) nothing changes: no in-chain search, no warning', async () => {
  const steps = await diagnoseLdap(configFor({ nestedDepth: 0 }), { user: 'alice' });
  const groups = steps.find((step) => step.step === 'groups');
  assert.equal(groups?.detail, `3 group(s) in the entry's memberOf (groups.nestedDepth 0): "staff", "R&D, Europe", "loop-a"`);
  assert.equal(groups.warning, undefined);
});

test("a root DSE that names Active Directory keeps AD's answer: an in-chain search finding nothing is no group", async () => {
  // No AD here: slapd's root DSE is given AD's capability, as every domain controller lists it.
  const client = new Client({ url: slapd.url });
  await client.bind(slapd.serviceDn, slapd.servicePassword);
  try {
    const search: SearchFn = async (base: string, options: SearchOptions) => {
      const result = await client.search(base, options);
      if (base !== '') return result;
      return { ...result, searchEntries: result.searchEntries.map((entry) => ({ ...entry, supportedCapabilities: ['1.2.840.113556.1.4.800'] })) };
    };
    const config = configFor();
    const found = await resolveGroups(search, config.groups, config.users.baseDn, { dn: ALICE, memberOf: [group('staff')] });
    assert.deepEqual(found, { names: [], dns: [] });
  } finally {
    await client.unbind();
  }
});
