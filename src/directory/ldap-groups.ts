/** Group membership: member/uniqueMember searches with bounded, cycle-safe nesting, or AD in-chain lookup. */
import type { Entry } from 'ldapts';
import type { Logger } from 'pino';
import { directoryDnKey } from '../core/distinguished-names.ts';
import { asciiLowerCase } from '../core/fold-case.ts';
import type { LdapDirectoryConfig } from './ldap-config.ts';
import { groupBaseOf } from './ldap-derived-bases.ts';
import { compileFilter, entryValues, equalityFilter, escapeFilterValue, type SearchFn } from './ldap-filter.ts';
import type { GroupParents, GroupRef } from './ldap-group-parents.ts';
import { dnGroupName, groupNaming } from './ldap-group-names.ts';
import { LdapUnavailableError, describeError, isLdapResult } from './ldap-errors.ts';
import { rootDseOf } from './ldap-root-dse.ts';

type GroupsConfig = LdapDirectoryConfig['groups'];

/** LDAP_MATCHING_RULE_IN_CHAIN: AD walks nested membership itself, at any depth. */
const IN_CHAIN_RULE = '1.2.840.113556.1.4.1941';
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
    throw new LdapUnavailableError(`group search for ${userDn} failed (${describeError(err)}): ${refusal}`);
  }
}

/**
 * Which of `children` each parent holds, from the parents' member values; null when that cannot be
 * told for sure, and the children must be asked one at a time. The server matched the values by DN
 * rules, but they come back as they were written, so they are compared as DNs, no more broadly than
 * every LDAP server matches them (directoryDnKey: escapes, ASCII case, insignificant spaces; folding
 * more than the server does would give one group another's parents); two children that compare alike
 * are asked one at a time. A value that is still none of the children may be one spelled in a way only
 * the server knows (`commonName=`, an OID, `cn=ÉQUIPE` for `cn=équipe`: slapd folds É, by tables of
 * its own) or any other member (a user): the server is asked whether the parent holds
 * a child it was not given (`heldAmong`); if it does, or a parent lists none of them (AD's ranged
 * retrieval of a long member list), a parent would be cached for too few children, and users would
 * lose a group depending on who signed in first.
 */
async function attributeParents(
  children: string[],
  parents: Array<{ ref: GroupRef; entry: Entry }>,
  memberAttribute: string,
  heldAmong: (parentDn: string, children: string[]) => Promise<boolean>,
): Promise<Map<string, GroupRef[]> | null> {
  const byKey = new Map<string, { dn: string; parents: GroupRef[] }>();
  for (const dn of children) {
    const key = directoryDnKey(dn);
    if (key === undefined || byKey.has(key)) return null;
    byKey.set(key, { dn, parents: [] });
  }
  const ranged = `${asciiLowerCase(memberAttribute)};range=`;
  for (const { ref, entry } of parents) {
    if (Object.keys(entry).some((key) => asciiLowerCase(key).startsWith(ranged))) return null;
    const held = new Set<string>();
    let unmatched = false;
    for (const value of entryValues(entry, memberAttribute)) {
      const key = directoryDnKey(value);
      const child = key === undefined ? undefined : byKey.get(key);
      if (!child) unmatched = true;
      else if (!held.has(child.dn)) {
        held.add(child.dn);
        child.parents.push(ref);
      }
    }
    const notHeld = children.filter((dn) => !held.has(dn));
    if (held.size === 0 || (unmatched && notHeld.length > 0 && (await heldAmong(entry.dn, notHeld)))) return null;
  }
  return new Map([...byKey.values()].map(({ dn, parents: held }) => [dn, held]));
}

/** The in-chain filter of AD mode: every group that contains the user directly or through other groups. */
export function inChainFilter(groups: GroupsConfig, userDn: string): string {
  return `(&${groups.filter}(member:${IN_CHAIN_RULE}:=${escapeFilterValue(userDn)}))`;
}

/**
 * AD's primary group of the user (ldap-primary-group.ts) under `base` matching groups.filter, found by
 * its objectSid, and the groups it is nested in (in-chain); none without a primary group SID.
 */
async function primaryGroupChain(search: SearchFn, base: string, groups: GroupsConfig, user: { dn: string; primaryGroupSid?: Buffer }, attributes: string[]): Promise<Entry[]> {
  if (user.primaryGroupSid === undefined) return [];
  const [primary] = await searchGroupsPaged(search, base, `(&${groups.filter}${equalityFilter('objectSid', user.primaryGroupSid)})`, attributes, user.dn);
  if (primary === undefined) return [];
  return [primary, ...(await searchGroupsPaged(search, base, inChainFilter(groups, primary.dn), attributes, user.dn))];
}

/** The entries with distinct DNs, the first of each kept (the server spells a DN the same in each answer). */
function uniqueByDn(entries: Entry[]): Entry[] {
  const seen = new Set<string>();
  return entries.filter((entry) => !seen.has(entry.dn) && Boolean(seen.add(entry.dn)));
}

/** What an in-chain search that finds none of the entry's groups means, and what to set. */
function inChainUnsupported(memberOfValues: number): string {
  const although =
    memberOfValues > 0
      ? `although the entry has ${memberOfValues} memberOf value(s)`
      : 'although groups list the entry in groups.memberAttribute (the directory keeps no memberOf values, e.g. OpenLDAP without its memberOf overlay)';
  return (
    `the in-chain search of groups.mode "memberOf" (Active Directory's matching rule ${IN_CHAIN_RULE}) found no group, ${although}: ` +
    'this directory is not Active Directory and does not know the rule, so the groups were searched as groups.mode "member" does (groups.baseDn, groups.filter, groups.memberAttribute); ' +
    'set groups.mode "member" with a groups.filter for your group entries, e.g. (objectClass=groupOfNames) (or groups.nestedDepth 0 to use memberOf alone)'
  );
}

/** Directories (by their search function) whose in-chain warning was logged: once is enough to act on it. */
const inChainWarned = new WeakSet<SearchFn>();

/**
 * Resolves group names for a user. `member` mode searches groups whose member attribute holds the
 * user (level 0), then groups holding those groups, up to `nestedDepth` extra levels; a visited set
 * makes cycles harmless. `memberOf` mode asks AD for the whole chain in one search (nestedDepth 0:
 * the user's direct `memberOf` values only). A server other than AD answers the in-chain search with
 * nothing and no error (OpenLDAP: the filter is Undefined): then the groups are searched as `member`
 * mode does, under groups.baseDn and groups.filter (a memberOf value outside them is no group here, as
 * in AD's answer), with a `warning` (logged once with `log`) when the entry has memberOf values or that
 * search finds groups. An entry without memberOf values is no sign of a user in no group: a directory
 * without the memberOf overlay keeps none for anyone. With `parents`, the levels above the user's own groups
 * come from that cache where it knows them; the unknown groups of a level are looked up together (see
 * parentsOf).
 */
export async function resolveGroups(
  search: SearchFn,
  groups: GroupsConfig,
  usersBaseDn: string,
  user: { dn: string; memberOf?: string[]; primaryGroupSid?: Buffer },
  parents?: GroupParents,
  log?: Logger,
): Promise<ResolvedGroups> {
  const memberOf = (user.memberOf ?? []).map((dn) => ({ dn, name: dnGroupName(dn, groups.nameAttribute) }));
  if (groups.mode === 'memberOf' && groups.nestedDepth === 0) return resolved(memberOf);
  const { dn: base } = await groupBaseOf(search, groups, usersBaseDn);
  const attributes = [groups.nameAttribute];
  const groupRef = (entry: Entry): GroupRef => {
    const { name, values, fromDn } = groupNaming(entry, groups.nameAttribute);
    return { dn: entry.dn, name, ...(values.length > 1 || fromDn ? { nameValues: values } : {}) };
  };
  const holdingFilter = (members: string[]): string => {
    const clauses = members.map((dn) => equalityFilter(groups.memberAttribute, dn));
    return `(&${groups.filter}${clauses.length === 1 ? clauses[0] : `(|${clauses.join('')})`})`;
  };
  const holding = async (members: string[]): Promise<GroupRef[]> => {
    const found: GroupRef[] = [];
    for (let i = 0; i < members.length; i += BATCH) {
      for (const entry of await searchGroupsPaged(search, base, holdingFilter(members.slice(i, i + BATCH)), attributes, user.dn)) found.push(groupRef(entry));
    }
    return found;
  };

  /** Whether the group `parentDn` holds any of `members`, as the server matches them. */
  const heldAmong = async (parentDn: string, members: string[]): Promise<boolean> =>
    (await search(parentDn, { scope: 'base', filter: compileFilter(holdingFilter(members)), attributes: ['1.1'] })).searchEntries.length > 0;

  /** The groups holding each of `children`, for the cache: one search per BATCH children when the answers can be told apart. */
  const parentsOf = async (children: string[]): Promise<Map<string, GroupRef[]>> => {
    const result = new Map<string, GroupRef[]>();
    for (let i = 0; i < children.length; i += BATCH) {
      const batch = children.slice(i, i + BATCH);
      const entries = await searchGroupsPaged(search, base, holdingFilter(batch), [groups.nameAttribute, groups.memberAttribute], user.dn);
      const attributed = await attributeParents(batch, entries.map((entry) => ({ ref: groupRef(entry), entry })), groups.memberAttribute, heldAmong);
      for (const dn of batch) result.set(dn, attributed?.get(dn) ?? (await holding([dn])));
    }
    return result;
  };

  /** The groups holding the groups of `frontier`, one level up. */
  const above = async (frontier: string[]): Promise<GroupRef[]> => {
    if (!parents) return holding(frontier);
    // Held here, not read from the cache again: a link can expire while this level is looked up.
    const known = new Map<string, GroupRef[]>();
    const unknown: string[] = [];
    for (const dn of frontier) {
      const cached = parents.get(dn);
      if (cached) known.set(dn, cached);
      else unknown.push(dn);
    }
    for (const [dn, refs] of await parentsOf(unknown)) {
      parents.set(dn, refs);
      known.set(dn, refs);
    }
    return frontier.flatMap((dn) => known.get(dn) ?? []);
  };

  /**
   * The user's own groups and those holding them, up to nestedDepth levels above. Entries are told
   * apart by their DNs as the server spells them, which it does the same way every time: a folded DN
   * could take two groups for one (straße and STRAẞE to toLowerCase), and drop the second with its
   * parents, and a rule denying one of those.
   */
  const withNesting = async (own: GroupRef[]): Promise<GroupRef[]> => {
    const seen = new Set<string>([user.dn]);
    const all: GroupRef[] = [];
    const unseen = (found: GroupRef[]): string[] => {
      const next: string[] = [];
      for (const group of found) {
        if (seen.has(group.dn)) continue;
        seen.add(group.dn);
        next.push(group.dn);
        all.push(group);
      }
      return next;
    };
    let frontier = unseen(own);
    for (let level = 1; level <= groups.nestedDepth && frontier.length > 0; level++) frontier = unseen(await above(frontier));
    return all;
  };

  if (groups.mode === 'member') return resolved(await withNesting(await holding([user.dn])));
  const inChain = await searchGroupsPaged(search, base, inChainFilter(groups, user.dn), attributes, user.dn);
  const entries = uniqueByDn([...inChain, ...(await primaryGroupChain(search, base, groups, user, attributes))]);
  if (entries.length > 0 || (await rootDseOf(search)).activeDirectory) return resolved(entries.map(groupRef));
  // As member mode: memberOf values are not taken as they are, since groups.baseDn and groups.filter must hold as they do for AD's answer.
  const found = await withNesting(await holding([user.dn]));
  if (memberOf.length === 0 && found.length === 0) return resolved([]);
  const warning = inChainUnsupported(memberOf.length);
  if (log && !inChainWarned.has(search)) {
    inChainWarned.add(search);
    log.warn({ event: 'ldap.groups.in-chain-unsupported', dn: user.dn, memberOf: memberOf.length }, warning);
  }
  return { ...resolved(found), warning };
}

/**
 * A user's groups: names (what policies and relying parties mostly use) and DNs (what a policy naming a
 * group by DN matches); `warning`: how they were found needs fixing in the configuration;
 * `unclearlyNamed`: the groups whose name is not simply their entry's one value of
 * groups.nameAttribute (GroupRef.nameValues: it has several, or none that is its RDN's, and the name
 * is the DN's), which `directory test` points out.
 */
export interface ResolvedGroups {
  names: string[];
  dns: string[];
  warning?: string;
  unclearlyNamed?: GroupRef[];
}

function resolved(groups: readonly GroupRef[]): ResolvedGroups {
  const unclearlyNamed = groups.filter((group) => group.nameValues !== undefined);
  return { names: [...new Set(groups.map((group) => group.name))], dns: [...new Set(groups.map((group) => group.dn))], ...(unclearlyNamed.length > 0 ? { unclearlyNamed } : {}) };
}
