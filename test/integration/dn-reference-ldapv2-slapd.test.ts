import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'ldapts';
import { startConfiguredSlapd } from '../helpers/slapd-configured.ts';
import { inGroup } from '../../src/policy/patterns.ts';
import type { User } from '../../src/core/types.ts';

// A DN a rule names, spelled as LDAPv2 wrote it (a quoted value, `;` between RDNs) or with a character
// slapd refuses unescaped, against the group slapd finds by it: narrowly (a rule that lets in) it may
// name only that group, broadly (a rule that refuses) it must name it.
const SUFFIX = 'dc=example,dc=org';
const G = `,ou=g,${SUFFIX}`;
const NAMES = ['admins', '"admins"', 'Domain Admins', 'Sales, EMEA', 'a"b', '#b', 'a<b', 'R;D', 'x'];
const REFERENCES = [
  `cn="admins"${G}`, `cn= "ADMINS" ${G}`, `cn=\\"admins\\"${G}`, `cn="\\"admins\\""${G}`, `cn="Domain Admins"${G}`, `cn="Sales, EMEA"${G}`,
  `cn="a\\"b"${G}`, `cn="x"x${G}`, `cn="x${G}`, `cn=""${G}`,
  `cn=admins;ou=g;dc=example;dc=org`, `cn=x ; ou=g${G.replace(/^,ou=g/, '')}`, `cn=R;D${G}`,
  `cn=a"b${G}`, `cn=#b${G}`, `cn=\t#b${G}`, `cn=\\#b${G}`, `cn=a<b${G}`, `cn=a\\<b${G}`,
];

const hexEscaped = (value: string) => [...Buffer.from(value)].map((byte) => `\\${byte.toString(16).padStart(2, '0')}`).join('');
const base64 = (text: string) => Buffer.from(text).toString('base64');

test('a DN spelled as LDAPv2 wrote it, or with a character slapd refuses, names narrowly only the group slapd finds by it, and broadly that group', async () => {
  const ldif = [`dn: ou=g,${SUFFIX}\nobjectClass: organizationalUnit\nou: g\n`, ...NAMES.map((name) => `dn:: ${base64(`cn=${hexEscaped(name)}${G}`)}\nobjectClass: groupOfNames\ncn:: ${base64(name)}\nmember: cn=service,${SUFFIX}\n`)].join('\n');
  const slapd = await startConfiguredSlapd({ suffix: SUFFIX, ldif });
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.rootDn, slapd.rootPassword);
    const groups = (await client.search(`ou=g,${SUFFIX}`, { scope: 'one', attributes: ['1.1'] })).searchEntries.map((entry) => entry.dn);
    assert.equal(groups.length, NAMES.length);
    const wrong: string[] = [];
    let found = 0;
    for (const dn of REFERENCES) {
      const named = await client.search(dn, { scope: 'base', attributes: ['1.1'] }).then(({ searchEntries }) => searchEntries[0]?.dn, () => undefined);
      if (named !== undefined) found++;
      for (const group of groups) {
        const user: User = { id: 'u', username: 'u', groups: [], groupDns: [group], attributes: {} };
        if (inGroup(user, dn, 'narrow') && named !== group) wrong.push(`narrowly ${JSON.stringify(dn)} names ${group}, slapd ${named ?? 'none'}`);
        if (named === group && !inGroup(user, dn, 'broad')) wrong.push(`broadly ${JSON.stringify(dn)} does not name ${group}, which slapd finds by it`);
      }
    }
    assert.ok(found >= 11, `slapd finds a group by ${found} of ${REFERENCES.length} DNs: the check is not empty`);
    assert.deepEqual(wrong, []);
  } finally {
    await client.unbind();
    await slapd.stop();
  }
});
