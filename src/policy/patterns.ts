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

function rdnValue(dn: string): string {
  const first = dn.split(/(?<!\\),/)[0] ?? dn;
  return first.slice(first.indexOf('=') + 1).replace(/\\(.)/g, '$1').trim();
}

/**
 * Group membership, nested groups included (the directory resolves nesting into `user.groups`).
 * A DN reference matches a `memberOf` value equal to it, or a resolved group named like its first RDN.
 */
export function inGroup(user: User, reference: string): boolean {
  const names = user.groups.map((group) => group.toLowerCase());
  if (!reference.includes('=')) return names.includes(reference.trim().toLowerCase());
  const wanted = normaliseDn(reference);
  if ((user.attributes.memberof ?? []).some((dn) => normaliseDn(dn) === wanted)) return true;
  return names.includes(rdnValue(reference).toLowerCase());
}
