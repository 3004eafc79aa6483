import { Client, type Change } from 'ldapts';
import type { SlapdHandle } from '../../scripts/slapd.ts';

/** One change to a directory entry, made as the directory's administrator (rootdn), as an admin's tool would. */
export async function ldapChange(slapd: SlapdHandle, dn: string, change: Change): Promise<void> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.rootDn, slapd.rootPassword);
    await client.modify(dn, change);
  } finally {
    await client.unbind();
  }
}
