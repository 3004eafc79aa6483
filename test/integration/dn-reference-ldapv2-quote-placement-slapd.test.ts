import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dnReferencesAgainstSlapd, GROUPS_DN_TAIL as G } from '../helpers/dn-references-vs-slapd.ts';

// Where a double quote may open an LDAPv2 quoted value, what may follow its close and what it holds,
// against the group slapd finds by each DN: a rule letting in may name only that group (narrowly),
// a rule refusing must name it (broadly). test/unit/dn-reference-ldapv2-quote-placement says the same without slapd.
const NAMES = ['ab', 'admins', 'a\tb', 'a9b', 'a<b', 'a"b"', 'b'];
const REFERENCES = [
  `cn=a"b"${G}`, `cn=\\41"b"${G}`, `cn=\\a"b"${G}`, `cn= a "b"${G}`, `cn="a"b${G}`, `cn="a" b${G}`,
  'cn="admins";ou=g;dc=example;dc=org', `cn="admins" ;ou=g${G.replace(/^,ou=g/, '')}`,
  `cn="a\tb"${G}`, `cn=a\\<b${G}`, `cn=a\\"b\\"${G}`,
];

test('a quote placed where it opens no LDAPv2 value, text after a closing quote, a ; after one and a tab inside one are read narrowly as slapd reads them', async () => {
  const { wrong, found, groups } = await dnReferencesAgainstSlapd(NAMES, REFERENCES);
  assert.equal(groups, NAMES.length);
  assert.ok(found >= 5, `slapd finds a group by ${found} of ${REFERENCES.length} DNs: the check is not empty`);
  assert.deepEqual(wrong, []);
});
