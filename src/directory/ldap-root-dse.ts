/**
 * What the directory says about itself in its root DSE: the naming contexts (suffixes) it holds, and
 * whether it is Active Directory, whose matching rules other servers do not know.
 */
import { isLdapResult } from './ldap-errors.ts';
import { entryValues, type SearchFn } from './ldap-filter.ts';

/** LDAP_CAP_ACTIVE_DIRECTORY_OID: every AD domain controller lists it in supportedCapabilities. */
const AD_CAPABILITY = '1.2.840.113556.1.4.800';

export interface RootDse {
  namingContexts: string[];
  activeDirectory: boolean;
}

/**
 * One read per directory: its search function stands for it (a directory keeps one for its life, a
 * `directory test` run makes its own). A refusal is kept like an answer; a read that fails is not, so the next one asks again.
 */
const read = new WeakMap<SearchFn, Promise<RootDse>>();

/** The root DSE; a server that refuses to show it is taken to hold nothing it names and not to be AD (AD shows it to anyone). */
export function rootDseOf(search: SearchFn): Promise<RootDse> {
  let reading = read.get(search);
  if (!reading) {
    reading = search('', { scope: 'base', attributes: ['namingContexts', 'supportedCapabilities'] }).then(
      ({ searchEntries: [entry] }) => ({
        namingContexts: entry ? entryValues(entry, 'namingContexts').filter((dn) => dn.trim() !== '') : [],
        activeDirectory: entry ? entryValues(entry, 'supportedCapabilities').includes(AD_CAPABILITY) : false,
      }),
      (err: unknown) => {
        // The server's answer (a refusal) stands like any other; only a failed read is asked again.
        if (isLdapResult(err)) return { namingContexts: [], activeDirectory: false };
        read.delete(search);
        throw err;
      },
    );
    read.set(search, reading);
  }
  return reading;
}

/** A DN's RDNs, each as compared: case and the spaces around separators do not count (o=Corp, O = corp). */
function rdnsOf(dn: string): string[] {
  return dn.split(/(?<!\\),/).map((rdn) => rdn.trim());
}

const comparable = (rdn: string): string => rdn.replace(/\s*=\s*/g, '=').toLowerCase();

/** The naming context `dn` lies in; the topmost when the server holds one suffix under another. */
export function namingContextOf(rootDse: RootDse, dn: string): string | undefined {
  const rdns = rdnsOf(dn).map(comparable);
  const holding = rootDse.namingContexts.filter((context) => {
    const suffix = rdnsOf(context).map(comparable);
    return suffix.length <= rdns.length && suffix.every((rdn, i) => rdn === rdns[rdns.length - suffix.length + i]);
  });
  return holding.sort((a, b) => rdnsOf(a).length - rdnsOf(b).length)[0];
}
