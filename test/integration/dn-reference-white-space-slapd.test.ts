import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dnReferencesAgainstSlapd, GROUPS_DN_TAIL as G } from '../helpers/dn-references-vs-slapd.ts';

// A DN a rule names, with white space raw or escaped at a value's ends, against the group slapd finds
// by it: narrowly (a rule that lets in) it may name only that group, broadly (a rule that refuses) it
// must name it.
const NAMES = ['admins', '\tadmins', 'admins\t', ' ', '\t', 'x\\', 'x\\\t', 'x\\\n', 'a,', 'a,\t'];
const REFERENCES = [
  'cn=\tadmins', 'cn=admins\t', 'cn=\r\nadmins ', 'cn=\\09admins', 'cn=admins\\09', 'cn=\\09admins\t',
  'cn=\\20', 'cn=\\ ', 'cn=\\20\\20', 'cn=\\C2\\A0', 'cn=\\09', 'cn=\\09 ', 'cn=\t',
  'cn=x\\\\\t', 'cn=x\\\\\t\t', 'cn=x\\\\\n', 'cn=x\\5C\t', 'cn=x\\\\ ',
  'cn=\u00A0', 'cn=\u00A0\u00A0', 'cn=a\\,\t', 'cn=a\\2C\t', 'cn=a\\,\\09',
];

test('a DN with white space at a value\'s ends names narrowly only the group slapd finds by it, and broadly that group', async () => {
  const { wrong, found, groups } = await dnReferencesAgainstSlapd(NAMES, REFERENCES.map((reference) => `${reference}${G}`));
  assert.equal(groups, NAMES.length);
  assert.ok(found >= REFERENCES.length - 2, `slapd finds a group by ${found} of ${REFERENCES.length} DNs: the check is not empty`);
  assert.deepEqual(wrong, []);
});
