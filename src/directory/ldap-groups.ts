/** Group membership: member/uniqueMember searches with bounded, cycle-safe nesting, or AD in-chain lookup. */
import type { Entry } from 'ldapts';
import type { Logger } from 'pino';
import { directoryDnKey, directoryValueKey } from '../core/distinguished-names.ts';
import { asciiLowerCase, foldCase, withLdapSignificantSpaces, withSignificantSpaces } from '../core/fold-case.ts';
import type { LdapDirectoryConfig } from './ldap-config.ts';
import { compileFilter, entryValues, equalityFilter, escapeFilterValue, type SearchFn } from './ldap-filter.ts';
import type { GroupParents, GroupRef } from './ldap-group-parents.ts';
import { LdapUnavailableError, describeError, isLdapResult } from './ldap-errors.ts';
import { namingContextOf, rootDseOf } from './ldap-root-dse.ts';

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

/** The dc= part of a DN, if it has one. */
function dcPartOf(dn: string): string | undefined {
  const rdns = dn.split(/(?<!\\),/);
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
export async function groupBaseOf(search: SearchFn, groups: GroupsConfig, usersBaseDn: string): Promise<GroupBase> {
  if (groups.baseDn !== undefined) return { dn: groups.baseDn };
  const dcPart = dcPartOf(usersBaseDn);
  if (dcPart !== undefined) return { dn: dcPart, defaulted: 'the dc= part of users.baseDn' };
  const namingContext = namingContextOf(await rootDseOf(search), usersBaseDn);
  if (namingContext !== undefined) return { dn: namingContext, defaulted: 'the naming context users.baseDn lies in' };
  return { dn: usersBaseDn, defaulted: 'users.baseDn: the server names no naming context it lies in' };
}

/**
 * A group's name in its DN, e.g. "Admins" for "CN=Admins,OU=Groups,DC=corp" (AD memberOf values): the
 * first RDN's value of `nameAttribute`, or else its first value (a multi-valued RDN, cn=x+ou=y).
 */
export function rdnValue(dn: string, nameAttribute?: string): string {
  const avas = firstRdn(dn);
  const named = nameAttribute === undefined ? undefined : avas.find((ava) => asciiLowerCase(ava.type) === asciiLowerCase(nameAttribute));
  return (named ?? avas[0])?.value ?? dn.trim();
}

/**
 * A group's name as Stepgate uses it everywhere (policies, SAML isMemberOf, OIDC groups), from its
 * entry: when the RDN is `nameAttribute`, the attribute's value that is the RDN's (unique among the
 * group's siblings, what admins see, and what a memberOf value names it by; a multi-valued cn lists
 * its values in any order), spelled as the attribute spells it; else the attribute's first value.
 * `fromDn`: no value could be used (none the service account reads is the RDN's, or there is none),
 * and the name is the DN's. Without the spaces every directory leaves out (cn `contractors ` is its
 * `contractors`): a rule naming the group must match it, and memberOf mode must name it the same. Only
 * U+0020s: `admin` followed by a tab or an ideographic space is another group to slapd, which a permit
 * rule for `admin` must not take in.
 */
function groupNaming(entry: Entry, nameAttribute: string): { name: string; values: string[]; fromDn: boolean } {
  const values = entryValues(entry, nameAttribute);
  const rdnNamed = firstRdn(entry.dn).find((ava) => asciiLowerCase(ava.type) === asciiLowerCase(nameAttribute));
  const spelled = rdnNamed === undefined ? values[0] : rdnSpelling(rdnNamed.value, values, nameAttribute);
  return { name: withLdapSignificantSpaces(spelled ?? rdnValue(entry.dn, nameAttribute)), values, fromDn: spelled === undefined };
}

/**
 * The value of the name attribute that is the RDN's, spelled as the attribute spells it: the RDN may
 * spell it in another case or spacing (the server matches them alike), and relying parties map names
 * case-sensitively and knew the attribute's. The same text first, then the same to every directory
 * (ASCII case, spaces: of a cn holding straße and STRAẞE, two values to slapd, the entry cn=STRAẞE is
 * STRAẞE), then the one value alike but for the case of other letters (cn=ÉLITE with cn: élite is
 * élite, as before). Undefined: none is, and the name is
 * the DN's, which directory test points out.
 */
function rdnSpelling(rdn: string, values: readonly string[], type: string): string | undefined {
  const exact = values.find((value) => value === rdn);
  if (exact !== undefined) return exact;
  const key = directoryValueKey(type, rdn);
  const alike = values.find((value) => directoryValueKey(type, value) === key);
  if (alike !== undefined) return alike;
  const named = (value: string) => foldCase(withSignificantSpaces(value));
  const folded = values.filter((value) => named(value) === named(rdn));
  return folded.length === 1 ? folded[0] : undefined;
}

/**
 * A group's name from its DN alone (a memberOf value, no entry read): the RDN's spelling, which is the
 * entry's name unless its attribute value is spelled in another case or spacing.
 */
export function dnGroupName(dn: string, nameAttribute: string): string {
  return withLdapSignificantSpaces(rdnValue(dn, nameAttribute));
}

/**
 * The attribute types and values of a DN's first RDN, the values decoded as RFC 4514 writes them:
 * `\,` `\+` `\\` `\"` `\ ` stand for the character, hex pairs for UTF-8 bytes (slapd writes `\2C`,
 * `\C3\A9`), and the unescaped spaces around a value or a separator are not part of it.
 */
function firstRdn(dn: string): Array<{ type: string; value: string }> {
  const chars = Array.from(dn);
  const avas: Array<{ type: string; value: string }> = [];
  let at = 0;
  while (at < chars.length) {
    const equals = chars.indexOf('=', at);
    if (equals < 0) break;
    const type = chars.slice(at, equals).join('').trim();
    const { value, end } = readValue(chars, equals + 1);
    avas.push({ type, value });
    if (chars[end] !== '+') break;
    at = end + 1;
  }
  return avas;
}

const UTF8 = new TextDecoder('utf-8');

/** An attribute value from `start` up to the first unescaped `,` or `+` (`end`), decoded. */
function readValue(chars: readonly string[], start: number): { value: string; end: number } {
  const bytes: number[] = [];
  // How many bytes the value has without its unescaped trailing spaces.
  let kept = 0;
  let at = start;
  for (; at < chars.length && chars[at] !== ',' && chars[at] !== '+'; at++) {
    const char = chars[at]!;
    const escaped = char === '\\' && at + 1 < chars.length;
    const hex = escaped ? /^[0-9A-Fa-f]{2}$/.exec(`${chars[at + 1]}${chars[at + 2] ?? ''}`)?.[0] : undefined;
    if (hex !== undefined) {
      bytes.push(Number.parseInt(hex, 16));
      at += 2;
    } else if (escaped) {
      at += 1;
      bytes.push(...Buffer.from(chars[at]!, 'utf8'));
    } else if (char === ' ') {
      if (bytes.length > 0) bytes.push(0x20);
      continue;
    } else bytes.push(...Buffer.from(char, 'utf8'));
    kept = bytes.length;
  }
  return { value: UTF8.decode(Uint8Array.from(bytes.slice(0, kept))), end: at };
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

/** What an in-chain search that finds none of the entry's memberOf groups means, and what to set. */
function inChainUnsupported(memberOfValues: number): string {
  return (
    `the in-chain search of groups.mode "memberOf" (Active Directory's matching rule ${IN_CHAIN_RULE}) found no group, although the entry has ${memberOfValues} memberOf value(s): ` +
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
 * nothing and no error (OpenLDAP: the filter is Undefined): when it does so for an entry with memberOf
 * values, the groups are searched as `member` mode does, under groups.baseDn and groups.filter (a
 * memberOf value outside them is no group here, as in AD's answer), with a `warning` (logged once
 * with `log`). With `parents`, the levels above the user's own groups
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
  if (entries.length > 0 || memberOf.length === 0 || (await rootDseOf(search)).activeDirectory) return resolved(entries.map(groupRef));
  const warning = inChainUnsupported(memberOf.length);
  if (log && !inChainWarned.has(search)) {
    inChainWarned.add(search);
    log.warn({ event: 'ldap.groups.in-chain-unsupported', dn: user.dn, memberOf: memberOf.length }, warning);
  }
  // As member mode: memberOf values are not taken as they are, since groups.baseDn and groups.filter must hold as they do for AD's answer.
  return { ...resolved(await withNesting(await holding([user.dn]))), warning };
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
