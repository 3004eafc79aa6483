import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'ldapts';
import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';
import { asDirectoryAdmin } from '../helpers/ldap-admin.ts';
import { dnGroupName, rdnValue } from '../../src/directory/ldap-group-names.ts';

// A group named from a DN alone (a memberOf value, a group entry without its name attribute) gets the
// name of the group slapd finds at that DN. The DN is read by the one parser policies use
// (core/distinguished-names.ts), which reads a DN as slapd does: unescaped white space at a value's
// ends is not part of it, and LDAPv2's spellings (a quoted value, `;` between RDNs) are read.
const BASE = 'dc=example,dc=org';
const GROUPS = `ou=groups,${BASE}`;

let slapd: SlapdHandle;
let client: Client;

before(async () => {
  slapd = await startSlapd({ ppolicy: false, monitor: false });
  await asDirectoryAdmin(slapd, async (admin) => {
    await admin.add(`cn=admins,${GROUPS}`, { objectClass: 'groupOfNames', cn: 'admins', member: [`uid=alice,ou=people,${BASE}`] });
    await admin.add(`cn=Sales\\2C EMEA,${GROUPS}`, { objectClass: 'groupOfNames', cn: 'Sales, EMEA', member: [`uid=alice,ou=people,${BASE}`] });
  });
  client = new Client({ url: slapd.url });
  await client.bind(slapd.rootDn, slapd.rootPassword);
});
after(async () => {
  await client?.unbind();
  await slapd?.stop();
});

/** The cn of the entry slapd finds at `dn`, read as slapd reads the DN. */
async function cnAt(dn: string): Promise<string> {
  const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['cn'] });
  return [searchEntries[0]!.cn].flat()[0] as string;
}

test("a DN's first value is the name of the group slapd finds at the DN, however the DN is spelled", async () => {
  const spellings = [
    `cn=\tadmins,${GROUPS}`,
    `cn=admins\t,${GROUPS}`,
    `cn=\r\nadmins\n,${GROUPS}`,
    `cn="Sales, EMEA",${GROUPS}`,
    `cn=admins;ou=groups;dc=example;dc=org`,
    `cn=Sales\\2C EMEA,${GROUPS}`,
    `CN = admins , ${GROUPS}`,
  ];
  for (const dn of spellings) {
    const held = await cnAt(dn);
    assert.equal(rdnValue(dn, 'cn'), held, `rdnValue(${JSON.stringify(dn)})`);
    assert.equal(dnGroupName(dn, 'cn'), held, `dnGroupName(${JSON.stringify(dn)})`);
  }
});
