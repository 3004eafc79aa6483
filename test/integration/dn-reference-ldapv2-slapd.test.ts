import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dnReferencesAgainstSlapd, GROUPS_DN_TAIL as G } from '../helpers/dn-references-vs-slapd.ts';

// A DN a rule names, spelled as LDAPv2 wrote it (a quoted value, `;` between RDNs) or with a character
// slapd refuses unescaped, against the group slapd finds by it: narrowly (a rule that lets in) it may
// name only that group, broadly (a rule that refuses) it must name it.
const NAMES = ['admins', '"admins"', 'Domain Admins', 'Sales, EMEA', 'a"b', '#b', 'a<b', 'R;D', 'x'];
const REFERENCES = [
  `cn="admins"${G}`, `cn= "ADMINS" ${G}`, `cn=\\"admins\\"${G}`, `cn="\\"admins\\""${G}`, `cn="Domain Admins"${G}`, `cn="Sales, EMEA"${G}`,
  `cn="a\\"b"${G}`, `cn="x"x${G}`, `cn="x${G}`, `cn=""${G}`,
  `cn=admins;ou=g;dc=example;dc=org`, `cn=x ; ou=g${G.replace(/^,ou=g/, '')}`, `cn=R;D${G}`,
  `cn=a"b${G}`, `cn=#b${G}`, `cn=\t#b${G}`, `cn=\\#b${G}`, `cn=a<b${G}`, `cn=a\\<b${G}`,
];

test('a DN spelled as LDAPv2 wrote it, or with a character slapd refuses, names narrowly only the group slapd finds by it, and broadly that group', async () => {
  const { wrong, found, groups } = await dnReferencesAgainstSlapd(NAMES, REFERENCES);
  assert.equal(groups, NAMES.length);
  assert.ok(found >= 11, `slapd finds a group by ${found} of ${REFERENCES.length} DNs: the check is not empty`);
  assert.deepEqual(wrong, []);
});
