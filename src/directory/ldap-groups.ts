/** Group membership: member/uniqueMember searches with bounded, cycle-safe nesting, or AD in-chain lookup. */
import type { Entry } from 'ldapts';
import type { LdapDirectoryConfig } from './ldap-config.ts';
import { compileFilter, entryValue, equalityFilter, escapeFilterValue, type SearchFn } from './ldap-filter.ts';
import type { GroupParents, GroupRef } from './ldap-group-parents.ts';
import { LdapUnavailableError, describeError, isLdapResult } from './ldap-pool.ts';

type GroupsConfig = LdapDirectoryConfig['groups'];

/** LDAP_MATCHING_RULE_IN_CHAIN: AD walks nested membership itself, at any depth. */
export const IN_CHAIN_RULE = '1.2.840.113556.1.4.1941';
/** Keeps each OR filter well under server filter-size limits. */
const BATCH = 50;
/**
 * Entries per page of a group search. A user can be in more groups than a server returns to one
 * unpaged search (OpenLDAP's sizelimit, 500 by default; AD's MaxPageSize, 1000), so group searches
 * are paged, with pages well under those limits.
 */
const PAGE_SIZE = 200;

/** Why a paged group search can still be refused: the admin's side of the fix, for the log. */
const PAGING_REFUSALS: Readonly<Record<number, string>> = {
  4:
    `more groups than the directory's size limit, even with paged results (pages of ${PAGE_SIZE}): the server ignores paging or caps paged searches too; ` +
    'raise the limit for the service account (OpenLDAP: limits dn.exact="<service DN>" size.prtotal=unlimited)',
  11: `the directory refused paged results (pages of ${PAGE_SIZE}); allow them for the service account (OpenLDAP: its size.pr and size.prtotal limits)`,
};

async function searchGroupsPaged(search: SearchFn, base: string, filter: string, attributes: string[], userDn: string): Promise<Entry[]> {
  try {
    const { searchEntries } = await search(base, { scope: 'sub', filter: compileFilter(filter), attributes, paged: { pageSize: PAGE_SIZE } });
    return searchEntries;
  } catch (err) {
    const refusal = isLdapResult(err) ? PAGING_REFUSALS[err.code] : undefined;
    if (refusal === undefined) throw err;
    throw new LdapUnavailableError(`group search for ${userDn} failed (${describeError(err)}): ${refusal}`, { cause: err });
  }
}

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
 * the user's direct `memberOf` values only). With `parents`, the levels above the user's own groups
 * come from that cache where it knows them (one search per unknown group otherwise).
 */
export async function resolveGroups(
  search: SearchFn,
  groups: GroupsConfig,
  usersBaseDn: string,
  user: { dn: string; memberOf?: string[] },
  parents?: GroupParents,
): Promise<ResolvedGroups> {
  const base = groups.baseDn ?? domainRootOf(usersBaseDn);
  const attributes = [groups.nameAttribute];
  if (groups.mode === 'memberOf') {
    if (groups.nestedDepth === 0) return resolved((user.memberOf ?? []).map((dn) => ({ dn, name: rdnValue(dn) })));
    const entries = await searchGroupsPaged(search, base, inChainFilter(groups, user.dn), attributes, user.dn);
    return resolved(entries.map((e) => ({ dn: e.dn, name: entryValue(e, groups.nameAttribute) ?? rdnValue(e.dn) })));
  }

  const holding = async (members: string[]): Promise<GroupRef[]> => {
    const found: GroupRef[] = [];
    for (let i = 0; i < members.length; i += BATCH) {
      const clauses = members.slice(i, i + BATCH).map((dn) => equalityFilter(groups.memberAttribute, dn));
      const filter = `(&${groups.filter}${clauses.length === 1 ? clauses[0] : `(|${clauses.join('')})`})`;
      for (const entry of await searchGroupsPaged(search, base, filter, attributes, user.dn)) found.push({ dn: entry.dn, name: entryValue(entry, groups.nameAttribute) ?? rdnValue(entry.dn) });
    }
    return found;
  };

  const seen = new Set<string>([user.dn.toLowerCase()]);
  const all: GroupRef[] = [];
  let frontier = [user.dn];
  for (let depth = 0; depth <= groups.nestedDepth && frontier.length > 0; depth++) {
    let found: GroupRef[];
    if (depth === 0 || !parents) found = await holding(frontier);
    else {
      // Group-in-group links from the cache; the unknown groups are asked one by one, so each answer is theirs alone.
      found = [];
      for (const dn of frontier) {
        let above = parents.get(dn);
        if (!above) {
          above = await holding([dn]);
          parents.set(dn, above);
        }
        found.push(...above);
      }
    }
    const next: string[] = [];
    for (const group of found) {
      const key = group.dn.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      next.push(group.dn);
      all.push(group);
    }
    frontier = next;
  }
  return resolved(all);
}

/** A user's groups: names (what policies and relying parties mostly use) and DNs (what a policy naming a group by DN matches). */
export interface ResolvedGroups {
  names: string[];
  dns: string[];
}

function resolved(groups: readonly GroupRef[]): ResolvedGroups {
  return { names: [...new Set(groups.map((group) => group.name))], dns: [...new Set(groups.map((group) => group.dn))] };
}
