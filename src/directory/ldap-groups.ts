/** Group membership: member/uniqueMember searches with bounded, cycle-safe nesting, or AD in-chain lookup. */
import type { LdapDirectoryConfig } from './ldap-config.ts';
import { compileFilter, entryValue, equalityFilter, escapeFilterValue, type SearchFn } from './ldap-filter.ts';

type GroupsConfig = LdapDirectoryConfig['groups'];

/** LDAP_MATCHING_RULE_IN_CHAIN: AD walks nested membership itself, at any depth. */
export const IN_CHAIN_RULE = '1.2.840.113556.1.4.1941';
/** Keeps each OR filter well under server filter-size limits. */
const BATCH = 50;

/** The domain root (the dc= part) of a DN: the default group base, and where AD keeps maxPwdAge. */
export function domainRootOf(usersBaseDn: string): string {
  const rdns = usersBaseDn.split(/(?<!\\),/);
  const firstDc = rdns.findIndex((r) => /^\s*dc=/i.test(r));
  return firstDc >= 0 ? rdns.slice(firstDc).join(',') : usersBaseDn;
}

/** The value of the first RDN, e.g. "Admins" for "CN=Admins,OU=Groups,DC=corp" (AD memberOf values). */
export function rdnValue(dn: string): string {
  const first = dn.split(/(?<!\\),/)[0] ?? dn;
  return first.slice(first.indexOf('=') + 1).replace(/\\(.)/g, '$1').trim();
}

/** The in-chain filter of AD mode: every group that contains the user directly or through other groups. */
export function inChainFilter(groups: GroupsConfig, userDn: string): string {
  return `(&${groups.filter}(member:${IN_CHAIN_RULE}:=${escapeFilterValue(userDn)}))`;
}

/**
 * Resolves group names for a user. `member` mode searches groups whose member attribute holds the
 * user (level 0), then groups holding those groups, up to `nestedDepth` extra levels; a visited set
 * makes cycles harmless. `memberOf` mode asks AD for the whole chain in one search (nestedDepth 0:
 * the user's direct `memberOf` values only).
 */
export async function resolveGroups(
  search: SearchFn,
  groups: GroupsConfig,
  usersBaseDn: string,
  user: { dn: string; memberOf?: string[] },
): Promise<string[]> {
  const base = groups.baseDn ?? domainRootOf(usersBaseDn);
  const attributes = [groups.nameAttribute];
  if (groups.mode === 'memberOf') {
    if (groups.nestedDepth === 0) return [...new Set((user.memberOf ?? []).map(rdnValue))];
    const { searchEntries } = await search(base, { scope: 'sub', filter: compileFilter(inChainFilter(groups, user.dn)), attributes });
    return [...new Set(searchEntries.map((e) => entryValue(e, groups.nameAttribute) ?? rdnValue(e.dn)))];
  }

  const seen = new Set<string>([user.dn.toLowerCase()]);
  const names: string[] = [];
  let frontier = [user.dn];
  for (let depth = 0; depth <= groups.nestedDepth && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (let i = 0; i < frontier.length; i += BATCH) {
      const members = frontier.slice(i, i + BATCH).map((dn) => equalityFilter(groups.memberAttribute, dn));
      const filter = `(&${groups.filter}${members.length === 1 ? members[0] : `(|${members.join('')})`})`;
      const { searchEntries } = await search(base, { scope: 'sub', filter: compileFilter(filter), attributes });
      for (const entry of searchEntries) {
        const key = entry.dn.toLowerCase();
        if (seen.has(key)) continue;
        seen.add(key);
        next.push(entry.dn);
        names.push(entryValue(entry, groups.nameAttribute) ?? rdnValue(entry.dn));
      }
    }
    frontier = next;
  }
  return [...new Set(names)];
}
