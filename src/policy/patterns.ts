import type { User } from '../core/types.ts';
import { canonicalDn } from '../core/distinguished-names.ts';
import { foldCase, withSignificantSpaces } from '../core/fold-case.ts';

/**
 * `*` matches any run of characters; everything else is literal; case-insensitive (foldCase), whole
 * value. Compared by code point. Not a RegExp: `.*` backtracks polynomially (`*a*a*a*b` against 1,000
 * characters took 90 s). The value must start with the part before the first `*` and end with the
 * part after the last; each part between is taken at its leftmost place after the one before, which
 * is a match whenever one exists, in at most (value length × pattern length) steps.
 */
export function wildcardMatch(pattern: string, value: string): boolean {
  const parts = pattern.split('*').map((part) => Array.from(foldCase(part)));
  const text = Array.from(foldCase(value));
  const first = parts[0]!;
  if (parts.length === 1) return text.length === first.length && occursAt(text, first, 0);
  const last = parts.at(-1)!;
  const end = text.length - last.length;
  if (end < first.length || !occursAt(text, first, 0) || !occursAt(text, last, end)) return false;
  let from = first.length;
  for (const part of parts.slice(1, -1)) {
    const at = indexOfBefore(text, part, from, end);
    if (at < 0) return false;
    from = at + part.length;
  }
  return true;
}

function occursAt(text: readonly string[], part: readonly string[], at: number): boolean {
  return part.every((char, i) => text[at + i] === char);
}

/** The first place at or after `from` where `part` occurs ending by `end`, or -1. */
function indexOfBefore(text: readonly string[], part: readonly string[], from: number, end: number): number {
  for (let at = from; at + part.length <= end; at++) if (occursAt(text, part, at)) return at;
  return -1;
}

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
 * spaces outside and doubled inside, do not count: `Sales  EMEA ` is `sales emea`); a DN matches only
 * that group (a resolved group's DN,
 * or a `memberOf` value): `cn=admins,ou=it,…` must not admit members of another OU's `admins`.
 */
export function inGroup(user: User, reference: string): boolean {
  if (!reference.includes('=')) return foldedGroupNames(user).has(foldCase(withSignificantSpaces(reference)));
  const wanted = canonicalDn(reference);
  return wanted !== undefined && [...(user.groupDns ?? []), ...(user.attributes.memberof ?? [])].some((dn) => canonicalDn(dn) === wanted);
}

/**
 * The user's group names, folded. A decision asks for every group reference of every rule (1000 rules,
 * a user in 200 groups: 200,000 foldings, most of a second); folded once per list of groups, it is one
 * lookup each. Kept by the list itself: a User's groups are never changed in place (a directory answer
 * is a new User), and a list no one holds any more takes its folded names with it.
 */
export function foldedGroupNames(user: User): ReadonlySet<string> {
  let folded = FOLDED_GROUP_NAMES.get(user.groups);
  if (!folded) {
    folded = new Set(user.groups.map((group) => foldCase(withSignificantSpaces(group))));
    FOLDED_GROUP_NAMES.set(user.groups, folded);
  }
  return folded;
}

const FOLDED_GROUP_NAMES = new WeakMap<readonly string[], ReadonlySet<string>>();
