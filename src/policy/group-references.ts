import type { User } from '../core/types.ts';
import { canonicalDn, ldapCanonicalDn } from '../core/distinguished-names.ts';
import { asEveryLdapServerCompares, foldCase, withSignificantSpaces } from '../core/fold-case.ts';
import type { Comparison } from './comparison.ts';
import { remembered } from './remembered.ts';

/**
 * A group reference is a full DN (it has an `=`: "cn=Sales\, EMEA,ou=groups,dc=example,dc=org") or
 * else a plain group name, written as the group's name is ("engineers", "Sales, EMEA").
 */
export function groupReferenceProblem(reference: string): string | undefined {
  if (reference.trim() === '') return 'is empty';
  if (reference.includes('=')) return canonicalDn(reference) === undefined ? 'looks like a DN but is not one (expected attr=value,attr=value… with RFC 4514 escapes such as \\, for a comma in a value)' : undefined;
  if (reference.includes('*')) return 'has a wildcard, which group conditions do not support; use an attribute pattern on memberOf instead';
  if (reference.includes('\\')) return 'is a group name with a backslash: a name is written as it is (Sales, EMEA), escapes belong in DNs only';
  return undefined;
}

/**
 * A DN of one part (`cn=staff`): no group is a directory's root entry, so it names no group, and a
 * rule holding it never matches (a deny rule fails open). Written for a name, or a DN cut short.
 */
export function isOneRdnDn(reference: string): boolean {
  const canonical = reference.includes('=') ? canonicalDn(reference) : undefined;
  return canonical !== undefined && (JSON.parse(canonical) as unknown[]).length === 1;
}

/**
 * Group membership, nested groups included (the directory resolves nesting into `user.groups`).
 * A name matches a group of that name anywhere, compared as the directory compares names (case, and
 * spaces outside and doubled inside, do not count: `Sales  EMEA ` is `sales emea`), as narrowly or
 * broadly as asked; a DN matches only that group (a resolved group's DN, or a `memberOf` value):
 * `cn=admins,ou=it,…` must not admit members of another OU's `admins`. Without a comparison,
 * broadly: whether the reference could mean one of the user's groups; a rule always says which.
 */
export function inGroup(user: User, reference: string, comparison: Comparison = 'broad'): boolean {
  if (!reference.includes('=')) {
    const asLdap = ldapGroupNames(user).has(ldapReference(reference));
    const folded = () => foldedGroupNames(user).has(foldedReference(reference));
    return comparison === 'narrow' ? asLdap && folded() : asLdap || folded();
  }
  const wanted = canonicalDn(reference);
  const wantedKey = ldapCanonicalDn(reference);
  if (wanted === undefined && wantedKey === undefined) return false;
  return [user.groupDns, user.attributes.memberof].some((dns) => {
    if (dns === undefined || dns.length === 0) return false;
    const keys = memberDnKeys(dns);
    if (comparison === 'narrow') return wanted !== undefined && wantedKey !== undefined && keys.both.has(bothKey(wantedKey, wanted));
    return (wantedKey !== undefined && keys.asLdap.has(wantedKey)) || (wanted !== undefined && keys.folded.has(wanted));
  });
}

/**
 * The user's groups that a reference takes in broadly but not narrowly, or the other way round: the
 * look-alikes `policy explain` names when a rule held only one way.
 */
export function lookAlikeGroups(user: User, reference: string): string[] {
  if (!reference.includes('=')) return user.groups.filter((group) => (asEveryLdapServerCompares(group) === asEveryLdapServerCompares(reference)) !== (foldedName(group) === foldedName(reference)));
  const wanted = canonicalDn(reference);
  const wantedKey = ldapCanonicalDn(reference);
  return memberDns(user).filter((dn) => (wantedKey !== undefined && ldapCanonicalDn(dn) === wantedKey) !== (wanted !== undefined && canonicalDn(dn) === wanted));
}

function memberDns(user: User): string[] {
  return [...(user.groupDns ?? []), ...(user.attributes.memberof ?? [])];
}

/**
 * A list of member DNs in both widths, and the pairs of both (narrow needs one DN equal both ways).
 * Kept by the list, as foldedGroupNames: 1000 DN rules against 200 member DNs re-keyed every DN per
 * rule and width (60 ms a decision).
 */
interface MemberDnKeys {
  asLdap: ReadonlySet<string>;
  folded: ReadonlySet<string>;
  both: ReadonlySet<string>;
}

const MEMBER_DN_KEYS = new WeakMap<readonly string[], MemberDnKeys>();

function memberDnKeys(dns: readonly string[]): MemberDnKeys {
  let keys = MEMBER_DN_KEYS.get(dns);
  if (!keys) {
    const asLdap = new Set<string>();
    const folded = new Set<string>();
    const both = new Set<string>();
    for (const dn of dns) {
      const key = ldapCanonicalDn(dn);
      const canonical = canonicalDn(dn);
      if (key !== undefined) asLdap.add(key);
      if (canonical !== undefined) folded.add(canonical);
      if (key !== undefined && canonical !== undefined) both.add(bothKey(key, canonical));
    }
    keys = { asLdap, folded, both };
    MEMBER_DN_KEYS.set(dns, keys);
  }
  return keys;
}

/** Canonical DNs are JSON, which never holds a raw line feed. */
function bothKey(asLdap: string, folded: string): string {
  return `${asLdap}\n${folded}`;
}

/** The group names rules are written with, folded once each (see remembered). */
const foldedReference = remembered(foldedName);
const ldapReference = remembered(asEveryLdapServerCompares);

function foldedName(name: string): string {
  return foldCase(withSignificantSpaces(name));
}

/**
 * The user's group names, folded. A decision asks for every group reference of every rule (1000 rules,
 * a user in 200 groups: 200,000 foldings, most of a second); folded once per list of groups, it is one
 * lookup each. Kept by the list itself: a User's groups are never changed in place (a directory answer
 * is a new User), and a list no one holds any more takes its folded names with it.
 */
export function foldedGroupNames(user: User): ReadonlySet<string> {
  return namesFoldedBy(FOLDED_GROUP_NAMES, foldedName, user);
}

/** The user's group names as every LDAP server compares them, kept as foldedGroupNames. */
export function ldapGroupNames(user: User): ReadonlySet<string> {
  return namesFoldedBy(LDAP_GROUP_NAMES, asEveryLdapServerCompares, user);
}

function namesFoldedBy(cache: WeakMap<readonly string[], ReadonlySet<string>>, fold: (name: string) => string, user: User): ReadonlySet<string> {
  let folded = cache.get(user.groups);
  if (!folded) {
    folded = new Set(user.groups.map(fold));
    cache.set(user.groups, folded);
  }
  return folded;
}

const FOLDED_GROUP_NAMES = new WeakMap<readonly string[], ReadonlySet<string>>();
const LDAP_GROUP_NAMES = new WeakMap<readonly string[], ReadonlySet<string>>();
