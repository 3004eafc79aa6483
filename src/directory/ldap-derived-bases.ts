/** The bases worked out from users.baseDn: where groups are searched when groups.baseDn is not set, and the domain root. */
import { rdnsAsWritten } from '../core/distinguished-names.ts';
import type { LdapDirectoryConfig } from './ldap-config.ts';
import type { SearchFn } from './ldap-filter.ts';
import { namingContextOf, rootDseOf } from './ldap-root-dse.ts';

/** The dc= part of a DN, if it has one. */
function dcPartOf(dn: string): string | undefined {
  const rdns = rdnsAsWritten(dn);
  const firstDc = rdns.findIndex((r) => /^\s*dc=/i.test(r));
  return firstDc >= 0 ? rdns.slice(firstDc).join(',') : undefined;
}

/** The domain root (the dc= part) of a DN: where AD keeps maxPwdAge. */
export function domainRootOf(usersBaseDn: string): string {
  return dcPartOf(usersBaseDn) ?? usersBaseDn;
}

/** Where groups are searched; `defaulted` says how, when groups.baseDn is not set. */
export interface GroupBase {
  dn: string;
  defaulted?: string;
}

/**
 * groups.baseDn, or else the top of the users' part of the directory, so that groups beside the users'
 * OU are found: the dc= part of users.baseDn; without one (o=corp, c=de: X.500 layouts) the naming
 * context users.baseDn lies in, from the root DSE, or when the server names none, users.baseDn itself
 * (a guessed suffix might not exist, and every group search would then fail).
 */
export async function groupBaseOf(search: SearchFn, groups: LdapDirectoryConfig['groups'], usersBaseDn: string): Promise<GroupBase> {
  if (groups.baseDn !== undefined) return { dn: groups.baseDn };
  const dcPart = dcPartOf(usersBaseDn);
  if (dcPart !== undefined) return { dn: dcPart, defaulted: 'the dc= part of users.baseDn' };
  const namingContext = namingContextOf(await rootDseOf(search), usersBaseDn);
  if (namingContext !== undefined) return { dn: namingContext, defaulted: 'the naming context users.baseDn lies in' };
  return { dn: usersBaseDn, defaulted: 'users.baseDn: the server names no naming context it lies in' };
}
