import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { asDirectoryAdmin } from '../helpers/ldap-admin.ts';
import { rdnValue } from '../../src/directory/ldap-group-names.ts';
import { resolveGroups } from '../../src/directory/ldap-groups.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';
import type { SearchFn } from '../../src/directory/ldap-filter.ts';
import { Client, type SearchOptions } from 'ldapts';

// A group's name read from its DN (memberOf mode with nestedDepth 0, and wherever the group entry has
// no name attribute) is the value as the directory holds it: RFC 4514's escapes decoded.
const BASE = 'dc=example,dc=org';
const GROUPS = `ou=groups,${BASE}`;
const CN = 'R&D, Europe + "Ops" é';

let slapd: SlapdHandle;
let search: SearchFn;
let client: Client;

before(async () => {
  slapd = await startSlapd({ ppolicy: false, monitor: false });
  await asDirectoryAdmin(slapd, (admin) => admin.add(`cn=R&D\\2C Europe \\2B \\22Ops\\22 \\C3\\A9,${GROUPS}`, { objectClass: 'groupOfNames', cn: CN, member: [`uid=alice,ou=people,${BASE}`] }));
  client = new Client({ url: slapd.url });
  await client.bind(slapd.rootDn, slapd.rootPassword);
  search = (base: string, options: SearchOptions) => client.search(base, options);
});
after(async () => {
  await client?.unbind();
  await slapd?.stop();
});

const groupsConfig = (groups: Record<string, unknown>) =>
  ldapDirectorySchema.parse({ kind: 'ldap', urls: ['ldap://127.0.0.1:1'], bind: { dn: 'cn=service,dc=x', password: 'secret' }, users: { baseDn: `ou=people,${BASE}` }, groups: { baseDn: GROUPS, ...groups } }).groups;

test("the tester's DNs: hex pairs, escaped specials, an escaped trailing space, an escaped backslash before the separator, a multi-valued RDN", () => {
  const cases: Array<[string, string]> = [
    ['cn=a\\2Cb,ou=g', 'a,b'],
    ['CN=R\\C3\\A9sum\\C3\\A9,OU=G', 'Résumé'],
    ['CN=r\\c3\\a9sum\\c3\\a9,OU=G', 'résumé'],
    ['CN=Trailing\\ ,OU=G', 'Trailing '],
    ['CN=\\ Leading,OU=G', ' Leading'],
    ['CN=back\\\\,OU=G,DC=x', 'back\\'],
    ['CN=x+OU=y,DC=z', 'x'],
    ['CN=R&D\\, Europe,OU=G,DC=x', 'R&D, Europe'],
    ['CN=\\#hash,OU=G', '#hash'],
    ['cn=A\\+B \\"C\\" \\<D\\> \\;E \\=F,ou=g', 'A+B "C" <D> ;E =F'],
    ['CN = spaced  name , OU=G', 'spaced  name'],
    ['cn=\\F0\\9F\\98\\80 smile,ou=g', '😀 smile'],
    ['cn=Admins', 'Admins'],
  ];
  for (const [dn, name] of cases) assert.equal(rdnValue(dn), name, dn);
});

test("a multi-valued RDN gives the configured name attribute's value, wherever it stands", () => {
  assert.equal(rdnValue('OU=y+CN=x\\2B1,DC=z', 'cn'), 'x+1');
  assert.equal(rdnValue('OU=y+CN=x,DC=z'), 'y', 'without one: the first value');
  assert.equal(rdnValue('OU=y+UID=x,DC=z', 'cn'), 'y', 'none of that attribute: the first value');
});

test('memberOf mode, nestedDepth 0: the names of the DNs slapd writes are the groups\' own names', async () => {
  const { searchEntries } = await search(GROUPS, { scope: 'one', attributes: ['cn'] });
  const dn = searchEntries[0]!.dn;
  assert.match(dn, /\\2C/, `slapd writes the DN with hex pairs: ${dn}`);
  const memberOf = [dn, 'CN=R\\C3\\A9sum\\C3\\A9,OU=G,DC=corp', 'CN=Trailing\\ ,OU=G,DC=corp'];
  const groups = await resolveGroups(search, groupsConfig({ mode: 'memberOf', nestedDepth: 0 }), `ou=people,${BASE}`, { dn: `uid=alice,ou=people,${BASE}`, memberOf });
  assert.deepEqual(groups.names, [CN, 'Résumé', 'Trailing']);
  assert.deepEqual(groups.dns, memberOf);
});

test('member mode, a group entry without the name attribute: its name is decoded from the DN slapd answers with', async () => {
  const groups = await resolveGroups(search, groupsConfig({ nameAttribute: 'description' }), `ou=people,${BASE}`, { dn: `uid=alice,ou=people,${BASE}` });
  assert.deepEqual(groups.names, [CN]);
});

test('a DN slapd would refuse (an unescaped < or >, as another directory may write it) is read as written: the group is named by its first RDN, not by the whole DN', () => {
  assert.equal(rdnValue(`cn=Sales <EMEA>,${GROUPS}`, 'cn'), 'Sales <EMEA>');
  assert.equal(rdnValue(`cn=#admins,${GROUPS}`, 'cn'), '#admins');
});
