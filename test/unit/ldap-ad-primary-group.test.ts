import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AndFilter, EqualityFilter, type Entry, type Filter, type SearchOptions } from 'ldapts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { resolveGroups } from '../../src/directory/ldap-groups.ts';
import { compileFilter } from '../../src/directory/ldap-filter.ts';
import { primaryGroupSid } from '../../src/directory/ldap-primary-group.ts';

/**
 * AD lists nobody in their primary group through member or memberOf (MS-ADA3 2.120): memberOf mode
 * finds it by its SID, the user's objectSid with primaryGroupID as the last sub-authority, and the
 * groups it is nested in. No AD here: the directory's answers are played by a stub.
 */
const BASE = 'DC=corp,DC=example';
const USER = `CN=Jane,OU=People,${BASE}`;
const DOMAIN_USERS = `CN=Domain Users,CN=Users,${BASE}`;
const STAFF = `CN=Staff,OU=Groups,${BASE}`;
const VPN = `CN=VPN,OU=Groups,${BASE}`;
/** S-1-5-21-1-2-3-<rid> as AD stores it. */
const sid = (rid: number): Buffer => {
  const bytes = Buffer.alloc(8 + 4 * 5);
  bytes[0] = 1;
  bytes[1] = 5;
  bytes.writeUIntBE(5, 2, 6);
  [21, 1, 2, 3, rid].forEach((value, i) => bytes.writeUInt32LE(value, 8 + 4 * i));
  return bytes;
};
/** The bytes an objectSid equality in `filter` sends (a value that is valid UTF-8 is kept as text). */
const sidAsked = (filter: Filter | undefined): Buffer | undefined => {
  const parts = filter instanceof AndFilter ? filter.filters : [filter];
  const equality = parts.find((part): part is EqualityFilter => part instanceof EqualityFilter && part.attribute.toLowerCase() === 'objectsid');
  return equality === undefined ? undefined : Buffer.from(equality.value as string | Buffer);
};
const group = (dn: string): Entry => ({ dn, cn: /^CN=([^,]+)/.exec(dn)![1]! });

/** In-chain answers by member DN, the primary group by its SID; the filters sent, as text. */
function stubDirectory(inChain: Record<string, string[]>) {
  const filters: string[] = [];
  const search = async (_base: string, options: SearchOptions) => {
    const text = String(options.filter);
    filters.push(text);
    const chained = Object.entries(inChain).find(([member]) => text.includes(`:1.2.840.113556.1.4.1941:=${member}`));
    if (chained) return { searchEntries: chained[1].map(group), searchReferences: [] };
    if (sidAsked(options.filter as Filter)?.equals(sid(513))) return { searchEntries: [group(DOMAIN_USERS)], searchReferences: [] };
    return { searchEntries: [], searchReferences: [] };
  };
  return { search, filters };
}

const groupsConfig = (nestedDepth = 2) =>
  ldapDirectorySchema.parse({ kind: 'ldap', urls: ['ldap://dc.corp.example'], bind: { dn: 'cn=s', password: 'p' }, users: { baseDn: `OU=People,${BASE}` }, groups: { mode: 'memberOf', baseDn: BASE, nestedDepth } }).groups;

test("primaryGroupSid: the user's domain SID with primaryGroupID as the RID; none without both", () => {
  assert.deepEqual(primaryGroupSid({ dn: USER, objectSid: sid(1104), primaryGroupID: '513' }), sid(513));
  assert.equal(primaryGroupSid({ dn: USER, primaryGroupID: '513' }), undefined, 'no objectSid: not AD');
  assert.equal(primaryGroupSid({ dn: USER, objectSid: sid(1104) }), undefined);
  assert.equal(primaryGroupSid({ dn: USER, objectSid: Buffer.from([1, 5, 0]), primaryGroupID: '513' }), undefined, 'not a SID');
});

test('memberOf mode: the primary group and the groups it is nested in are among the user\'s groups', async () => {
  const { search } = stubDirectory({ [USER]: [VPN], [DOMAIN_USERS]: [STAFF] });
  const found = await resolveGroups(search, groupsConfig(), `OU=People,${BASE}`, { dn: USER, memberOf: [VPN], primaryGroupSid: sid(513) });
  assert.deepEqual(found.names.sort(), ['Domain Users', 'Staff', 'VPN']);
});

test('a user in no group but their primary group has that group', async () => {
  const { search } = stubDirectory({ [DOMAIN_USERS]: [] });
  const found = await resolveGroups(search, groupsConfig(), `OU=People,${BASE}`, { dn: USER, memberOf: [], primaryGroupSid: sid(513) });
  assert.deepEqual(found.names, ['Domain Users']);
});

test('without a primary group SID (OpenLDAP) no objectSid search is sent', async () => {
  const { search, filters } = stubDirectory({ [USER]: [VPN] });
  const found = await resolveGroups(search, groupsConfig(), `OU=People,${BASE}`, { dn: USER, memberOf: [VPN] });
  assert.deepEqual(found.names, ['VPN']);
  assert.ok(filters.every((filter) => !/objectsid/i.test(filter)), filters.join(' '));
});

test('the primary group counts only when it matches groups.filter, as the in-chain groups do', async () => {
  const { search, filters } = stubDirectory({ [USER]: [VPN], [DOMAIN_USERS]: [STAFF] });
  const groups = { ...groupsConfig(), filter: '(&(objectClass=group)(!(cn=Domain Users)))' };
  await resolveGroups(search, groups, `OU=People,${BASE}`, { dn: USER, memberOf: [VPN], primaryGroupSid: sid(513) });
  const bySid = filters.filter((filter) => /objectsid/i.test(filter));
  assert.equal(bySid.length, 1, filters.join(' '));
  assert.ok(bySid[0]!.includes(String(compileFilter(groups.filter))), `the SID search must carry groups.filter: ${bySid[0]}`);
});
