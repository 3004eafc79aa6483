import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, type SearchOptions } from 'ldapts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { resolveGroups } from '../../src/directory/ldap-groups.ts';
import { GroupParents } from '../../src/directory/ldap-group-parents.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import { inGroup } from '../../src/policy/group-references.ts';
import type { SearchFn } from '../../src/directory/ldap-filter.ts';

// Groups whose DNs slapd keeps apart and JavaScript's case folding does not: cn=straße and cn=STRAẞE
// (toLowerCase takes the capital sharp s for ß; slapd's tables have no ẞ), and two groups named by a
// case-exact attribute (labeledURI) in ASCII letters of another case. Told apart by a lowercased DN,
// the nesting walk dropped the second group of a user in both, with its parents (a rule denying those
// did not apply), and the nested-group cache gave the members of one the other's parents; an entry
// whose cn holds both spellings was named by the one that is not its RDN's. What only slapd folds
// (É, fullwidth ａ) is asked about, and ASCII case and spaces cost no question.
const PEOPLE = 'ou=people,dc=example,dc=org';
const GROUPS = 'ou=groups,dc=example,dc=org';
const NOBODY = 'cn=nobody,dc=example,dc=org';
const group = (cn: string): string => `cn=${cn},${GROUPS}`;
const person = (uid: string): { dn: string } => ({ dn: `uid=${uid},${PEOPLE}` });
const SHARP = group('stra\u00dfe');
const CAPITAL_SHARP = group('STRA\u1e9eE');
const URI_UPPER = `labeledURI=Team,${GROUPS}`;
const URI_LOWER = `labeledURI=team,${GROUPS}`;

/** Group DN → cn value(s) and member DNs. */
const TREE: Record<string, { cn: string | string[]; members: string[]; extensible?: boolean }> = {
  [SHARP]: { cn: 'stra\u00dfe', members: [person('vic').dn, person('both').dn] },
  [CAPITAL_SHARP]: { cn: 'STRA\u1e9eE', members: [person('uma').dn, person('both').dn] },
  [group('zoll')]: { cn: 'zoll', members: [SHARP] },
  [group('sperre')]: { cn: 'sperre', members: [CAPITAL_SHARP] },
  [URI_UPPER]: { cn: 'uri-upper', members: [person('quinn').dn, person('pat').dn], extensible: true },
  [URI_LOWER]: { cn: 'uri-lower', members: [person('rue').dn, person('pat').dn], extensible: true },
  [group('upper-parent')]: { cn: 'upper-parent', members: [URI_UPPER] },
  [group('lower-parent')]: { cn: 'lower-parent', members: [URI_LOWER] },
  // spelled otherwise than the child's DN in letters slapd folds by its own tables: asked about
  [group('\u00e9quipe')]: { cn: '\u00e9quipe', members: [person('sam').dn, person('tess').dn] },
  [group('abc')]: { cn: 'abc', members: [person('sam').dn] },
  [group('kader')]: { cn: 'kader', members: [group('\u00c9QUIPE'), group('\uff41bc'), NOBODY] },
  // spelled otherwise in ASCII case and spaces only: matched as they are
  [group('Team Lead')]: { cn: 'Team Lead', members: [person('val').dn] },
  [group('leads')]: { cn: 'leads', members: [`CN= team   LEAD ,OU=Groups,DC=Example,DC=Org`] },
  // two cn values to slapd, the first the name of another group
  [group('MA\u1e9eE')]: { cn: ['ma\u00dfe', 'MA\u1e9eE'], members: [person('wes').dn] },
  [group('ma\u00dfe')]: { cn: 'ma\u00dfe', members: [person('xena').dn] },
  // the DN spells its one cn value with a capital É: one value to slapd, told apart by its tables only
  [group('\u00c9LITE')]: { cn: '\u00e9lite', members: [person('yara').dn] },
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
let searches: Array<{ base: string; scope: string | undefined }>;
let search: SearchFn;

before(async () => {
  const ldif = Object.entries(TREE).map(
    ([dn, { cn, members, extensible }]) =>
      `dn: ${dn}\nobjectClass: groupOfNames\n${extensible ? 'objectClass: extensibleObject\n' : ''}${[cn].flat().map((value) => `cn: ${value}\n`).join('')}${members.map((m) => `member: ${m}`).join('\n')}\n`,
  );
  slapd = await startSlapd({ ldif, ppolicy: false, monitor: false });
  client = new Client({ url: slapd.url });
  await client.bind(slapd.serviceDn, slapd.servicePassword);
  searches = [];
  search = (base: string, options: SearchOptions) => (searches.push({ base, scope: options.scope }), client.search(base, options));
});

after(async () => {
  await client?.unbind();
  await slapd?.stop();
});

const resolve = (uid: string, parents?: GroupParents) => resolveGroups(search, groupsConfig, PEOPLE, person(uid), parents);
const namesOf = async (uid: string, parents?: GroupParents): Promise<string[]> => (await resolve(uid, parents)).names.sort();

test('a user in both straße and STRAẞE gets both groups and both parents, and a rule denying the parent of STRAẞE applies', async () => {
  const direct = (await client.search(GROUPS, { filter: `(member=${person('both').dn})`, attributes: ['1.1'] })).searchEntries.map((entry) => entry.dn);
  assert.deepEqual(direct.sort(), [CAPITAL_SHARP, SHARP].sort(), 'slapd holds both in two entries');
  for (const parents of [undefined, new GroupParents(60_000)]) {
    const groups = await resolve('both', parents);
    assert.deepEqual([...groups.names].sort(), ['STRA\u1e9eE', 'sperre', 'stra\u00dfe', 'zoll']);
    const user = { id: 'both', username: 'both', groups: groups.names, groupDns: groups.dns, attributes: {} };
    assert.ok(inGroup(user, 'sperre') && inGroup(user, group('sperre')), 'a rule naming sperre, by name or DN, finds both in it');
  }
});

test('the nested-group cache gives members of only straße or only STRAẞE their own parents, whoever signed in first', async () => {
  const expected = { vic: ['stra\u00dfe', 'zoll'], uma: ['STRA\u1e9eE', 'sperre'], both: ['STRA\u1e9eE', 'sperre', 'stra\u00dfe', 'zoll'] };
  for (const uid of ['vic', 'uma'] as const) assert.deepEqual(await namesOf(uid), [...expected[uid]].sort(), `${uid}, uncached`);
  for (const order of [['vic', 'uma'], ['uma', 'vic'], ['both', 'vic', 'uma'], ['both', 'uma', 'vic']] as const) {
    const parents = new GroupParents(60_000);
    for (const uid of order) assert.deepEqual(await namesOf(uid, parents), [...expected[uid]].sort(), `${uid}, cached after ${order.join(', ')}`);
  }
});

test('groups named by a case-exact attribute in letters of another case are two groups, each with its own parents', async () => {
  assert.deepEqual(await namesOf('pat'), ['lower-parent', 'upper-parent', 'uri-lower', 'uri-upper']);
  for (const order of [['quinn', 'rue'], ['rue', 'quinn'], ['pat', 'quinn', 'rue']]) {
    const parents = new GroupParents(60_000);
    for (const uid of order) assert.deepEqual(await namesOf(uid, parents), await namesOf(uid), `${uid}, cached after ${order.join(', ')}`);
  }
  assert.deepEqual(await namesOf('quinn'), ['upper-parent', 'uri-upper']);
  assert.deepEqual(await namesOf('rue'), ['lower-parent', 'uri-lower']);
});

test('a parent naming its children in letters only slapd folds (É, fullwidth ａ) still holds them, asked about, cached or not', async () => {
  assert.deepEqual(await namesOf('sam'), ['abc', 'kader', '\u00e9quipe']);
  assert.deepEqual(await namesOf('tess'), ['kader', '\u00e9quipe']);
  for (const order of [['sam', 'tess'], ['tess', 'sam']]) {
    const parents = new GroupParents(60_000);
    for (const uid of order) assert.deepEqual(await namesOf(uid, parents), await namesOf(uid), `${uid}, cached after ${order.join(', ')}`);
  }
});

test('a parent naming its child in other ASCII case and spacing holds it without a question to the server', async () => {
  const parents = new GroupParents(60_000);
  searches.length = 0;
  assert.deepEqual(await namesOf('val', parents), ['Team Lead', 'leads']);
  assert.deepEqual(
    searches.map(({ scope }) => scope),
    ['sub', 'sub', 'sub'],
    'own groups, the level above Team Lead (leads, its member value matched), the level above leads; no base-scope check',
  );
});

test('a group whose cn holds maße and MAẞE, two values to slapd, is named by the one that is its RDN, not by the other, another group\'s name', async () => {
  const wes = await resolve('wes');
  assert.deepEqual(wes.names, ['MA\u1e9eE'], 'cn=MA\u1e9eE, listing ma\u00dfe first, is not named ma\u00dfe');
  assert.deepEqual(wes.unclearlyNamed?.map((group) => group.nameValues), [['ma\u00dfe', 'MA\u1e9eE']], 'directory test points out its two values');
  assert.deepEqual((await resolve('xena')).names, ['ma\u00dfe']);
  const memberOf = ldapDirectorySchema.parse({ kind: 'ldap', urls: ['ldap://127.0.0.1:1'], bind: { dn: 'cn=s,dc=x', password: 'x' }, users: { baseDn: PEOPLE }, groups: { mode: 'memberOf', nestedDepth: 0 } }).groups;
  assert.deepEqual((await resolveGroups(search, memberOf, PEOPLE, { ...person('wes'), memberOf: wes.dns })).names, wes.names, 'memberOf mode names it by its DN alike');
});

test('a DN spelling its one cn value in another case of a letter beyond ASCII keeps the value\'s spelling, as before', async () => {
  // Relying parties map names case-sensitively and knew élite; only a single value alike but for case is taken so.
  const yara = await resolve('yara');
  assert.deepEqual(yara.names, ['\u00e9lite']);
  assert.equal(yara.unclearlyNamed, undefined, 'nothing for directory test to point out');
});
