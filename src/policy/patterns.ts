import type { User } from '../core/types.ts';

/** `*` matches any run of characters; everything else is literal; case-insensitive, whole value. */
export function wildcardMatch(pattern: string, value: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 'is').test(value);
}

/** `attr=value(,attr=value)*` with an attribute type made of letters, digits and hyphens, or an OID. */
const DN_SYNTAX = /^\s*(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)\s*=\s*(?:\\.|[^,=\\])+(?:\s*,\s*(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)\s*=\s*(?:\\.|[^,=\\])+)*\s*$/;
const NAME_SYNTAX = /^[^=,*\\]+$/;

/** A group reference is a plain group name ("engineers") or a full DN ("cn=engineers,ou=groups,dc=example,dc=org"). */
export function groupReferenceProblem(reference: string): string | undefined {
  if (reference.trim() === '') return 'is empty';
  if (reference.includes('=')) return DN_SYNTAX.test(reference) ? undefined : 'looks like a DN but is not one (expected attr=value,attr=value…)';
  if (!NAME_SYNTAX.test(reference)) return 'is not a group name or DN (wildcards and commas are not allowed; use an attribute pattern on memberOf instead)';
  return undefined;
}

function normaliseDn(dn: string): string {
  return dn
    .split(/(?<!\\),/)
    .map((rdn) => rdn.trim().replace(/\s*=\s*/, '='))
    .join(',')
    .toLowerCase();
}

/**
 * Group membership, nested groups included (the directory resolves nesting into `user.groups`).
 * A name matches a group of that name anywhere; a DN matches only that group (a resolved group's DN,
 * or a `memberOf` value): `cn=admins,ou=it,…` must not admit members of another OU's `admins`.
 */
export function inGroup(user: User, reference: string): boolean {
  if (!reference.includes('=')) {
    const wanted = reference.trim().toLowerCase();
    return user.groups.some((group) => group.toLowerCase() === wanted);
  }
  const wanted = normaliseDn(reference);
  return [...(user.groupDns ?? []), ...(user.attributes.memberof ?? [])].some((dn) => normaliseDn(dn) === wanted);
}
