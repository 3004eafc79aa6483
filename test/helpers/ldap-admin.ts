import { Client, type Change } from 'ldapts';
import type { SlapdHandle } from '../../scripts/slapd.ts';

/** Work on the directory as its administrator (rootdn), as an admin's tool would. */
export async function asDirectoryAdmin(slapd: SlapdHandle, work: (client: Client) => Promise<unknown>): Promise<void> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.rootDn, slapd.rootPassword);
    await work(client);
  } finally {
    await client.unbind();
  }
}

/** One change to a directory entry, made as the directory's administrator. */
export function ldapChange(slapd: SlapdHandle, dn: string, change: Change): Promise<void> {
  return asDirectoryAdmin(slapd, (client) => client.modify(dn, change));
}

/** What slapd's ppolicy holds against an entry: its failed binds and its lock (read as the rootdn, not through any relay). */
export async function ppolicyMarks(slapd: SlapdHandle, dn: string): Promise<{ failures: number; locked: boolean }> {
  let marks = { failures: 0, locked: false };
  await asDirectoryAdmin(slapd, async (client) => {
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['pwdFailureTime', 'pwdAccountLockedTime'] });
    const entry = searchEntries[0]!;
    marks = { failures: [entry['pwdFailureTime'] ?? []].flat().length, locked: [entry['pwdAccountLockedTime'] ?? []].flat().length > 0 };
  });
  return marks;
}

/** The grace sign-ins slapd counted for the entry `dn` (pwdGraceUseTime values; a successful change clears them). */
export async function graceLoginsUsed(slapd: SlapdHandle, dn: string): Promise<number> {
  let used = 0;
  await asDirectoryAdmin(slapd, async (client) => {
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['pwdGraceUseTime'] });
    used = [searchEntries[0]?.['pwdGraceUseTime'] ?? []].flat().length;
  });
  return used;
}
