import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { SearchOptions, SearchResult } from 'ldapts';
import { resolveGroups } from '../../src/directory/ldap-groups.ts';
import { GroupParents } from '../../src/directory/ldap-group-parents.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';

/** A tiny directory of groups: group DN → member DNs. The fake answers (member=...) searches from it. */
function fakeDirectory(tree: Record<string, string[]>) {
  const calls: string[] = [];
  const search = async (_base: string, options: SearchOptions): Promise<SearchResult> => {
    const filter = String(options.filter);
    calls.push(filter);
    const asked = [...filter.matchAll(/\(member=([^)]+)\)/g)].map((match) => match[1]!.toLowerCase());
    const searchEntries = Object.entries(tree)
      .filter(([, members]) => members.some((member) => asked.includes(member.toLowerCase())))
      .map(([dn]) => ({ dn, cn: dn.slice(3, dn.indexOf(',')) }));
    return { searchEntries, searchReferences: [] };
  };
  return { search, calls };
}

const groupsConfig = ldapDirectorySchema.parse({ kind: 'ldap', urls: ['ldap://127.0.0.1:1'], bind: { dn: 'cn=service,dc=x', password: 'secret' }, users: { baseDn: 'ou=people,dc=x' }, groups: { baseDn: 'ou=groups,dc=x', nestedDepth: 2 } }).groups;
const ALICE = { dn: 'uid=alice,ou=people,dc=x' };

describe('nested groups with cached group-in-group links', () => {
  test('the user\'s own groups are searched every time; the levels above them only while the cache does not know them', async () => {
    const tree: Record<string, string[]> = {
      'cn=engineers,ou=groups,dc=x': [ALICE.dn],
      'cn=staff,ou=groups,dc=x': ['cn=engineers,ou=groups,dc=x'],
      'cn=all,ou=groups,dc=x': ['cn=staff,ou=groups,dc=x'],
      'cn=everyone,ou=groups,dc=x': ['cn=all,ou=groups,dc=x'],
      'cn=ops,ou=groups,dc=x': [],
    };
    const directory = fakeDirectory(tree);
    let now = 1_000_000;
    const parents = new GroupParents(60_000, () => now);

    assert.deepEqual((await resolveGroups(directory.search, groupsConfig, 'ou=people,dc=x', ALICE, parents)).names, ['engineers', 'staff', 'all']);
    assert.equal(directory.calls.length, 3, 'cold: own groups, then one search per unknown group');

    directory.calls.length = 0;
    assert.deepEqual((await resolveGroups(directory.search, groupsConfig, 'ou=people,dc=x', ALICE, parents)).names, ['engineers', 'staff', 'all']);
    assert.equal(directory.calls.length, 1, 'warm: only the user\'s own memberships are read');

    // A direct membership change counts at once.
    tree['cn=ops,ou=groups,dc=x'] = [ALICE.dn];
    directory.calls.length = 0;
    assert.deepEqual((await resolveGroups(directory.search, groupsConfig, 'ou=people,dc=x', ALICE, parents)).names, ['engineers', 'ops', 'staff', 'all']);
    assert.equal(directory.calls.length, 2, 'the new group\'s parents are looked up once');

    // A group-in-group change counts once its cached link is older than the cache time.
    tree['cn=all,ou=groups,dc=x'] = [];
    tree['cn=auditors,ou=groups,dc=x'] = ['cn=staff,ou=groups,dc=x'];
    assert.deepEqual((await resolveGroups(directory.search, groupsConfig, 'ou=people,dc=x', ALICE, parents)).names, ['engineers', 'ops', 'staff', 'all'], 'within the cache time');
    now += 60_001;
    assert.deepEqual((await resolveGroups(directory.search, groupsConfig, 'ou=people,dc=x', ALICE, parents)).names, ['engineers', 'ops', 'staff', 'auditors']);
  });

  test('without a cache, one batched search per level gives the same answer; cycles end', async () => {
    const tree = {
      'cn=a,ou=groups,dc=x': [ALICE.dn, 'cn=c,ou=groups,dc=x'],
      'cn=b,ou=groups,dc=x': ['cn=a,ou=groups,dc=x'],
      'cn=c,ou=groups,dc=x': ['cn=b,ou=groups,dc=x'],
    };
    const config = { ...groupsConfig, nestedDepth: 10 };
    const cold = fakeDirectory(tree);
    const withCache = (await resolveGroups(cold.search, config, 'ou=people,dc=x', ALICE, new GroupParents(60_000))).names;
    const plain = fakeDirectory(tree);
    assert.deepEqual((await resolveGroups(plain.search, config, 'ou=people,dc=x', ALICE)).names, withCache);
    assert.deepEqual(withCache, ['a', 'b', 'c']);
  });
});
