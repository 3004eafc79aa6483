import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change, Client, type SearchOptions } from 'ldapts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { ldapChange } from '../helpers/ldap-admin.ts';
import { resolveGroups } from '../../src/directory/ldap-groups.ts';
import { GroupParents } from '../../src/directory/ldap-group-parents.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import type { SearchFn } from '../../src/directory/ldap-filter.ts';

const BASE = 'dc=example,dc=org';
const PEOPLE = `ou=people,${BASE}`;
const GROUPS = `ou=groups,${BASE}`;
const ALICE = { dn: `uid=alice,${PEOPLE}` };
const BOB = { dn: `uid=bob,${PEOPLE}` };
const CARL = { dn: `uid=carl,${PEOPLE}` };
const DANA = { dn: `uid=dana,${PEOPLE}` };
const group = (cn: string): string => `cn=${cn},${GROUPS}`;
/** groupOfNames must have a member: a group "without members" holds this DN, which is nobody's. */
const NOBODY = `cn=nobody,${BASE}`;

/** The groups as slapd holds them at the start: group cn → member DNs. */
const TREE: Record<string, string[]> = {
  engineers: [ALICE.dn],
  staff: [group('engineers')],
  all: [group('staff')],
  everyone: [group('all')],
  ops: [NOBODY],
  auditors: [NOBODY],
  // a cycle: a → b → c → a, bob in a
  a: [BOB.dn, group('c')],
  b: [group('a')],
  c: [group('b')],
  // carl in qa and dev, dana in qa only; testing holds both, qa under another spelling of its DN
  qa: [CARL.dn, DANA.dn],
  dev: [CARL.dn],
  testing: ['CN=QA, OU=Groups, DC=example, DC=org', group('dev')],
};

const groupsConfig = ldapDirectorySchema.parse({ kind: 'ldap', urls: ['ldap://127.0.0.1:1'], bind: { dn: 'cn=service,dc=x', password: 'secret' }, users: { baseDn: PEOPLE }, groups: { baseDn: GROUPS, nestedDepth: 2 } }).groups;

let slapd: SlapdHandle;
let client: Client;

before(async () => {
  const ldif = Object.entries(TREE).map(([cn, members]) => `dn: ${group(cn)}\nobjectClass: groupOfNames\ncn: ${cn}\n${members.map((m) => `member: ${m}`).join('\n')}\n`);
  slapd = await startSlapd({ ldif, ppolicy: false });
  client = new Client({ url: slapd.url });
  await client.bind(slapd.serviceDn, slapd.servicePassword);
});

after(async () => {
  await client?.unbind();
  await slapd?.stop();
});

/** The service connection's real search, counting the searches (their filters) made through it. */
function countingSearch(): { search: SearchFn; calls: string[] } {
  const calls: string[] = [];
  const search: SearchFn = (base: string, options: SearchOptions) => {
    calls.push(String(options.filter));
    return client.search(base, options);
  };
  return { search, calls };
}

const setMembers = (cn: string, members: string[]) => ldapChange(slapd, group(cn), new Change({ operation: 'replace', modification: new Attribute({ type: 'member', values: members }) }));

describe('nested groups with cached group-in-group links (real slapd)', () => {
  test('the user\'s own groups are searched every time; the levels above them only while the cache does not know them', async () => {
    const directory = countingSearch();
    let now = 1_000_000;
    const parents = new GroupParents(60_000, () => now);
    const names = async () => (await resolveGroups(directory.search, groupsConfig, PEOPLE, ALICE, parents)).names;

    assert.deepEqual(await names(), ['engineers', 'staff', 'all'], 'two levels above the own group: everyone is too far');
    assert.equal(directory.calls.length, 3, 'cold: own groups, then one search per level of unknown groups');

    directory.calls.length = 0;
    assert.deepEqual(await names(), ['engineers', 'staff', 'all']);
    assert.equal(directory.calls.length, 1, 'warm: only the user\'s own memberships are read');

    // A direct membership change counts at once.
    await setMembers('ops', [ALICE.dn]);
    directory.calls.length = 0;
    assert.deepEqual(await names(), ['engineers', 'ops', 'staff', 'all']);
    assert.equal(directory.calls.length, 2, 'the new group\'s parents are looked up once');

    // A group-in-group change counts once its cached link is older than the cache time.
    await setMembers('all', [NOBODY]);
    await setMembers('auditors', [group('staff')]);
    assert.deepEqual(await names(), ['engineers', 'ops', 'staff', 'all'], 'within the cache time');
    now += 60_001;
    assert.deepEqual(await names(), ['engineers', 'ops', 'staff', 'auditors']);
  });

  test("a parent holding a group under another spelling of its DN is still that group's parent in the cache", async () => {
    const parents = new GroupParents(60_000);
    const cached = async (user: { dn: string }) => (await resolveGroups(countingSearch().search, groupsConfig, PEOPLE, user, parents)).names;
    const plain = async (user: { dn: string }) => (await resolveGroups(countingSearch().search, groupsConfig, PEOPLE, user)).names;
    assert.deepEqual(await cached(CARL), await plain(CARL));
    assert.deepEqual(await cached(DANA), ['qa', 'testing'], "dana's qa comes from the cache carl's sign-in filled");
    assert.deepEqual(await plain(DANA), ['qa', 'testing']);
  });

  test('without a cache, one batched search per level gives the same answer; cycles end', async () => {
    const config = { ...groupsConfig, nestedDepth: 10 };
    const cold = countingSearch();
    const withCache = (await resolveGroups(cold.search, config, PEOPLE, BOB, new GroupParents(60_000))).names;
    const plain = countingSearch();
    assert.deepEqual((await resolveGroups(plain.search, config, PEOPLE, BOB)).names, withCache);
    assert.deepEqual(withCache, ['a', 'b', 'c']);
    assert.equal(plain.calls.length, 4, 'one search per level: a, then b, then c, then a again (seen: the walk ends)');
  });
});

test('the nested-group cache keeps apart DNs that only a folding of ours would join: STRAẞE is not straße, cn=K is not cn=k', () => {
  const parents = new GroupParents(60_000);
  const zoll = [{ dn: group('zoll'), name: 'zoll' }];
  parents.set(group('stra\u00dfe'), zoll);
  parents.set(group('k'), zoll);
  assert.equal(parents.get(group('STRA\u1e9eE')), undefined, 'toLowerCase takes ẞ for ß; slapd keeps them apart');
  assert.equal(parents.get(group('K')), undefined, 'a server answers with one spelling of an entry: another spelling is another entry, or asked about');
  assert.deepEqual(parents.get(group('stra\u00dfe')), zoll);
});
