import { Client } from 'ldapts';
import { startConfiguredSlapd } from './slapd-configured.ts';
import { inGroup } from '../../src/policy/group-references.ts';
import type { User } from '../../src/core/types.ts';

export const SUFFIX = 'dc=example,dc=org';
/** Where the groups are: each reference ends with it. */
export const GROUPS_DN_TAIL = `,ou=g,${SUFFIX}`;

const hexEscaped = (value: string) => [...Buffer.from(value)].map((byte) => `\\${byte.toString(16).padStart(2, '0')}`).join('');
const base64 = (text: string) => Buffer.from(text).toString('base64');

/**
 * A real slapd holds a group for each of `names`; each DN of `references` (as a rule names one) is
 * looked up there, and compared with what inGroup says of it for each group: narrowly (a rule that
 * lets in) it may name only the group slapd finds by it, broadly (a rule that refuses) it must name
 * that group. `wrong` lists each disagreement; `found`, by how many references slapd found a group.
 */
export async function dnReferencesAgainstSlapd(names: string[], references: string[]): Promise<{ wrong: string[]; found: number; groups: number }> {
  const ldif = [`dn: ou=g,${SUFFIX}\nobjectClass: organizationalUnit\nou: g\n`, ...names.map((name) => `dn:: ${base64(`cn=${hexEscaped(name)}${GROUPS_DN_TAIL}`)}\nobjectClass: groupOfNames\ncn:: ${base64(name)}\nmember: cn=service,${SUFFIX}\n`)].join('\n');
  const slapd = await startConfiguredSlapd({ suffix: SUFFIX, ldif });
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.rootDn, slapd.rootPassword);
    const groups = (await client.search(`ou=g,${SUFFIX}`, { scope: 'one', attributes: ['1.1'] })).searchEntries.map((entry) => entry.dn);
    const wrong: string[] = [];
    let found = 0;
    for (const dn of references) {
      const named = await client.search(dn, { scope: 'base', attributes: ['1.1'] }).then(({ searchEntries }) => searchEntries[0]?.dn, () => undefined);
      if (named !== undefined) found++;
      for (const group of groups) {
        const user: User = { id: 'u', username: 'u', groups: [], groupDns: [group], attributes: {} };
        if (inGroup(user, dn, 'narrow') && named !== group) wrong.push(`narrowly ${JSON.stringify(dn)} names ${group}, slapd ${named ?? 'none'}`);
        if (named === group && !inGroup(user, dn, 'broad')) wrong.push(`broadly ${JSON.stringify(dn)} does not name ${group}, which slapd finds by it`);
      }
    }
    return { wrong, found, groups: groups.length };
  } finally {
    await client.unbind();
    await slapd.stop();
  }
}
