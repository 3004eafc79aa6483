import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AndFilter, EqualityFilter, OrFilter, type Entry, type Filter, type SearchOptions } from 'ldapts';
import { directoryDnKey } from '../../src/core/distinguished-names.ts';
import { resolveGroups } from '../../src/directory/ldap-groups.ts';
import { GroupParents } from '../../src/directory/ldap-group-parents.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import type { SearchFn } from '../../src/directory/ldap-filter.ts';

// Two groups whose DNs Stepgate keys alike while the directory keeps them apart. The key folds only
// what every directory folds (ASCII case in cn, spaces), so no real server answers with two such
// groups; the guard is for one that matches more narrowly than assumed, here a fake directory that
// matches member values exactly, cn=k and cn=K two groups. Keyed as one child, the second would take
// the first's parents, for every one of its members signing in after a member of both.
const PEOPLE = 'ou=people,dc=example,dc=org';
const GROUPS = 'ou=groups,dc=example,dc=org';
const PLAIN = `cn=k,${GROUPS}`;
const CAPITAL = `cn=K,${GROUPS}`;
const user = (uid: string): string => `uid=${uid},${PEOPLE}`;

/** Group DN → member DNs. ann is in both look-alikes, bob only in the capital one, cora only in the plain one. */
const GROUP_MEMBERS: Record<string, string[]> = {
  [PLAIN]: [user('ann'), user('cora')],
  [CAPITAL]: [user('ann'), user('bob')],
  [`cn=plain-parent,${GROUPS}`]: [PLAIN],
  [`cn=capital-parent,${GROUPS}`]: [CAPITAL],
};

const text = (value: string | Buffer): string => (Buffer.isBuffer(value) ? value.toString('utf8') : value);

/** The filters resolveGroups sends (&, |, =) over a group entry; values compared exactly, as a directory that keeps K and k apart. */
function matches(filter: Filter, dn: string): boolean {
  if (filter instanceof AndFilter) return filter.filters.every((inner) => matches(inner, dn));
  if (filter instanceof OrFilter) return filter.filters.some((inner) => matches(inner, dn));
  if (filter instanceof EqualityFilter) {
    const attribute = filter.attribute.toLowerCase();
    if (attribute === 'objectclass') return text(filter.value).toLowerCase() === 'groupofnames';
    if (attribute === 'member') return GROUP_MEMBERS[dn]!.includes(text(filter.value));
  }
  throw new Error(`the fake directory does not answer ${filter.toString()}`);
}

const search: SearchFn = async (base: string, options: SearchOptions) => {
  const filter = options.filter as Filter;
  const inScope = (dn: string) => (options.scope === 'base' ? dn === base : dn.endsWith(`,${base}`));
  const searchEntries: Entry[] = Object.keys(GROUP_MEMBERS)
    .filter((dn) => inScope(dn) && matches(filter, dn))
    .map((dn) => ({ dn, cn: dn.slice('cn='.length, dn.indexOf(',')), member: GROUP_MEMBERS[dn]! }));
  return { searchEntries, searchReferences: [] };
};

const groupsConfig = ldapDirectorySchema.parse({ kind: 'ldap', urls: ['ldap://127.0.0.1:1'], bind: { dn: 'cn=service,dc=x', password: 'secret' }, users: { baseDn: PEOPLE }, groups: { baseDn: GROUPS, nestedDepth: 2 } }).groups;

const namesOf = async (uid: string, parents?: GroupParents): Promise<string[]> => (await resolveGroups(search, groupsConfig, PEOPLE, { dn: user(uid) }, parents)).names.sort();

test('two groups of one user with the same DN key are asked one at a time: a member of only one gets its parents alone, cached or not', async () => {
  assert.equal(directoryDnKey(PLAIN), directoryDnKey(CAPITAL), 'the two DNs have one key');
  assert.deepEqual(await namesOf('bob'), ['K', 'capital-parent']);
  assert.deepEqual(await namesOf('cora'), ['k', 'plain-parent']);
  const parents = new GroupParents(60_000);
  assert.deepEqual(await namesOf('ann', parents), ['K', 'capital-parent', 'k', 'plain-parent']);
  assert.deepEqual(await namesOf('bob', parents), ['K', 'capital-parent']);
  assert.deepEqual(await namesOf('cora', parents), ['k', 'plain-parent']);
});
