import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'ldapts';
import { startConfiguredSlapd } from '../helpers/slapd-configured.ts';
import { inGroup } from '../../src/policy/patterns.ts';
import type { User } from '../../src/core/types.ts';

// A DN a rule names, with white space raw or escaped at a value's ends, against the group slapd finds
// by it: narrowly (a rule that lets in) it may name only that group, broadly (a rule that refuses) it
// must name it.
const SUFFIX = 'dc=example,dc=org';
const G = `,ou=g,${SUFFIX}`;
const NAMES = ['admins', '\tadmins', 'admins\t', ' ', '\t', 'x\\', 'x\\\t', 'x\\\n', 'a,', 'a,\t'];
const REFERENCES = [
  'cn=\tadmins', 'cn=admins\t', 'cn=\r\nadmins ', 'cn=\\09admins', 'cn=admins\\09', 'cn=\\09admins\t',
  'cn=\\20', 'cn=\\ ', 'cn=\\20\\20', 'cn=\\C2\\A0', 'cn=\\09', 'cn=\\09 ', 'cn=\t',
  'cn=x\\\\\t', 'cn=x\\\\\t\t', 'cn=x\\\\\n', 'cn=x\\5C\t', 'cn=x\\\\ ',
  'cn=\u00A0', 'cn=\u00A0\u00A0', 'cn=a\\,\t', 'cn=a\\2C\t', 'cn=a\\,\\09',
];

const hexEscaped = (value: string) => [...Buffer.from(value)].map((byte) => `\\${byte.toString(16).padStart(2, '0')}`).join('');
const base64 = (text: string) => Buffer.from(text).toString('base64');

test('a DN with white space at a value\'s ends names narrowly only the group slapd finds by it, and broadly that group', async () => {
  const ldif = [`dn: ou=g,${SUFFIX}\nobjectClass: organizationalUnit\nou: g\n`, ...NAMES.map((name) => `dn:: ${base64(`cn=${hexEscaped(name)}${G}`)}\nobjectClass: groupOfNames\ncn:: ${base64(name)}\nmember: cn=service,${SUFFIX}\n`)].join('\n');
  const slapd = await startConfiguredSlapd({ suffix: SUFFIX, ldif });
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.rootDn, slapd.rootPassword);
    const groups = (await client.search(`ou=g,${SUFFIX}`, { scope: 'one', attributes: ['1.1'] })).searchEntries.map((entry) => entry.dn);
    assert.equal(groups.length, NAMES.length);
    const wrong: string[] = [];
    let found = 0;
    for (const reference of REFERENCES) {
      const dn = `${reference}${G}`;
      const named = await client.search(dn, { scope: 'base', attributes: ['1.1'] }).then(({ searchEntries }) => searchEntries[0]?.dn, () => undefined);
      if (named !== undefined) found++;
      for (const group of groups) {
        const user: User = { id: 'u', username: 'u', groups: [], groupDns: [group], attributes: {} };
        if (inGroup(user, dn, 'narrow') && named !== group) wrong.push(`narrowly ${JSON.stringify(dn)} names ${group}, slapd ${named ?? 'none'}`);
        if (named === group && !inGroup(user, dn, 'broad')) wrong.push(`broadly ${JSON.stringify(dn)} does not name ${group}, which slapd finds by it`);
      }
    }
    assert.ok(found >= REFERENCES.length - 2, `slapd finds a group by ${found} of ${REFERENCES.length} DNs: the check is not empty`);
    assert.deepEqual(wrong, []);
  } finally {
    await client.unbind();
    await slapd.stop();
  }
});
