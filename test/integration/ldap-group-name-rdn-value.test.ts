import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'ldapts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { resolveGroups } from '../../src/directory/ldap-groups.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { diagnoseLdap } from '../../src/directory/ldap-diagnose.ts';
import { personLdif } from '../helpers/ldap-directory.ts';
import type { SearchFn } from '../../src/directory/ldap-filter.ts';

/**
 * A group's name is the value of groups.nameAttribute that is its RDN's, spelled as the attribute
 * spells it (ldap-group-names.ts, rdnSpelling). Here the DN says cn=Strasse and the entry's cn holds straße (listed
 * first) and STRASSE: two values to slapd (it does not fold ß into ss), of which only STRASSE is the RDN's to
 * every directory (ASCII case). Folded as the policies fold names, both are "strasse": that broader
 * comparison must not be the one that picks, or the group loses its attribute's spelling (and is
 * reported as named from its DN) although a value is plainly its RDN's. And where only that broad
 * comparison finds the RDN's value, and finds two (cn=ÉMASSE holding émaße and émasse: slapd takes
 * the RDN for émasse by its own tables, JavaScript's folding takes it for both), neither is guessed:
 * the first would name the group by a value that may be another group's name.
 */
const PEOPLE = 'ou=people,dc=example,dc=org';
const GROUPS = 'ou=groups,dc=example,dc=org';
const MEMBER = `uid=rhea,${PEOPLE}`;
const GROUP = `cn=Strasse,${GROUPS}`;
const AMBIGUOUS = `cn=\u00c9MASSE,${GROUPS}`;
const OTHER_MEMBER = `uid=sol,${PEOPLE}`;
const SPACED = `cn=Team Lead,${GROUPS}`;
const SPACED_MEMBER = `uid=tom,${PEOPLE}`;

let slapd: SlapdHandle;
let client: Client;
let search: SearchFn;

before(async () => {
  slapd = await startSlapd({
    ldif: [
      ...['rhea', 'sol', 'tom'].map((uid) => personLdif({ uid, cn: uid, sn: uid, password: `${uid} password 12345` })),
      `dn: ${SPACED}\nobjectClass: groupOfNames\ncn: Team  Lead\ncn: Leads\nmember: ${SPACED_MEMBER}\n`,
      `dn: ${GROUP}\nobjectClass: groupOfNames\ncn: stra\u00dfe\ncn: STRASSE\nmember: ${MEMBER}\n`, `dn: ${AMBIGUOUS}\nobjectClass: groupOfNames\ncn: \u00e9ma\u00dfe\ncn: \u00e9masse\nmember: ${OTHER_MEMBER}\n`,
    ],
    ppolicy: false,
    monitor: false,
  });
  client = new Client({ url: slapd.url });
  await client.bind(slapd.serviceDn, slapd.servicePassword);
  search = (base, options) => client.search(base, options);
});
after(async () => {
  await client?.unbind();
  await slapd?.stop();
});

for (const nameAttribute of ['cn', 'CN']) {
  test(`groups.nameAttribute ${nameAttribute}: the group is named by the cn value that is its RDN's, as the value spells it`, async () => {
    const groups = ldapDirectorySchema.parse({ kind: 'ldap', urls: ['ldap://127.0.0.1:1'], bind: { dn: 'cn=s,dc=x', password: 'x' }, users: { baseDn: PEOPLE }, groups: { baseDn: GROUPS, nestedDepth: 0, nameAttribute } }).groups;
    const found = await resolveGroups(search, groups, PEOPLE, { dn: MEMBER });
    assert.deepEqual(found.names, ['STRASSE']);
    assert.deepEqual(
      found.unclearlyNamed?.map((group) => [group.name, group.nameValues]),
      [['STRASSE', ['stra\u00dfe', 'STRASSE']]],
      'pointed out for its two values, with the name taken from one of them',
    );
  });
}

test('a group whose RDN two of its values fold to alike is named as its DN spells it, not by the first of them', async () => {
  const groups = ldapDirectorySchema.parse({ kind: 'ldap', urls: ['ldap://127.0.0.1:1'], bind: { dn: 'cn=s,dc=x', password: 'x' }, users: { baseDn: PEOPLE }, groups: { baseDn: GROUPS, nestedDepth: 0 } }).groups;
  const found = await resolveGroups(search, groups, PEOPLE, { dn: OTHER_MEMBER });
  assert.deepEqual(found.names, ['\u00c9MASSE']);
  assert.deepEqual(found.unclearlyNamed?.map((group) => group.nameValues), [['\u00e9ma\u00dfe', '\u00e9masse']], 'pointed out, as named from its DN');
});

/** The `groups` step of `directory test --user <uid>`. */
async function groupsStepOf(uid: string) {
  const config = ldapDirectorySchema.parse({ kind: 'ldap', urls: [slapd.url], bind: { dn: slapd.serviceDn, password: slapd.servicePassword }, users: { baseDn: PEOPLE, idAttribute: 'uid' }, groups: { baseDn: GROUPS }, accountState: { flavour: 'none' } });
  return (await diagnoseLdap(config, { user: uid })).find((step) => step.step === 'groups');
}

test('directory test tells a group named from its DN, none of its values being the RDN\'s, from one named by one of several values', async () => {
  const ambiguous = await groupsStepOf('sol');
  assert.equal(
    ambiguous?.warning,
    `the service account ${slapd.serviceDn} reads no cn value that is its RDN's (only "\u00e9ma\u00dfe", "\u00e9masse") (groups.nameAttribute) in ${AMBIGUOUS}: its name "\u00c9MASSE" is taken from its DN, spelled as the DN spells it; let the service account read cn, and give the entry the RDN's value`,
  );
  // cn=Team Lead holds "Team  Lead" (the RDN's value to every directory: spaces) and "Leads".
  const spaced = await groupsStepOf('tom');
  assert.equal(spaced?.detail, `1 group(s) under ${GROUPS}: "Team Lead"`);
  assert.equal(
    spaced?.warning,
    `${SPACED} has 2 cn values (groups.nameAttribute: "Team  Lead", "Leads"): its name is "Team Lead", and a rule naming it by another of them does not match it; give it one value`,
  );
});
