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
