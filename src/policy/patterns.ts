import type { User } from '../core/types.ts';
import { BoundedMap } from '../core/bounded-map.ts';

/**
 * Case folding for names and values compared without case: compatibility forms as their plain letters
 * (NFKC: the Kelvin sign is K, fullwidth ａ is a), full case folding (lower, upper, lower again: ß and
 * ẞ are ss), and the Turkish dotted İ and dotless ı as i, since ADMİN is how a Turkish locale writes
 * admin in capitals. Accents stay: é is not e.
 */
export function foldCase(text: string): string {
  return text.normalize('NFKC').toLowerCase().toUpperCase().toLowerCase().replaceAll('i\u0307', 'i').normalize('NFC');
}

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

/** An attribute type: a name of letters, digits and hyphens, or an OID. */
const ATTRIBUTE_TYPE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)$/;

/** One attribute type and value of an RDN, both folded; the value with its escapes decoded. */
type Ava = readonly [type: string, value: string];

/**
 * A DN as RFC 4514 writes it, in one canonical form, or undefined when it is not one. The same group
 * is spelled `cn=Sales\, EMEA`, `CN=sales\2c emea` (slapd's answer) or `cn = Sales\2C  EMEA`: escapes
 * (`\,`, hex pairs `\2C`, UTF-8 `\C3\A9`) are decoded, types and values compared folded, spaces around
 * `,` `=` `+` and runs of spaces in a value are insignificant (as LDAP's caseIgnoreMatch treats them),
 * and the values of a multi-valued RDN (`cn=a+uid=b`) compared in any order.
 */
export function canonicalDn(dn: string): string | undefined {
  // Every decision compares each of the user's group DNs (a user may have hundreds): the same few
  // thousand DNs again and again, so their canonical forms are kept.
  if (CANONICAL_DNS.has(dn)) return CANONICAL_DNS.get(dn) ?? undefined;
  const canonical = canonicalDnOf(dn);
  CANONICAL_DNS.set(dn, canonical ?? null);
  return canonical;
}

const CANONICAL_DNS = new BoundedMap<string, string | null>(20_000);

function canonicalDnOf(dn: string): string | undefined {
  const rdns = splitUnescaped(dn, ',').map((rdn) => splitUnescaped(rdn, '+').map(parseAva));
  if (rdns.some((avas) => avas.some((ava) => ava === undefined))) return undefined;
  return JSON.stringify(rdns.map((avas) => avas.map((ava) => ava!.join('=')).sort()));
}

function parseAva(text: string): Ava | undefined {
  const equals = text.indexOf('=');
  const type = text.slice(0, equals).trim();
  if (equals < 0 || !ATTRIBUTE_TYPE.test(type)) return undefined;
  const value = decodeValue(text.slice(equals + 1));
  if (value === undefined || value === '') return undefined;
  return [type.toLowerCase(), value];
}

/**
 * `\XX` hex pairs are UTF-8 bytes (a run of them one sequence), `\c` is c. Unescaped characters are
 * taken as they are, whatever RFC 4514 says should be escaped: refusing a directory's own spelling
 * would make a deny rule fail open.
 */
function decodeValue(raw: string): string | undefined {
  let decoded = '';
  let bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const hex = raw[i] === '\\' ? /^[0-9A-Fa-f]{2}/.exec(raw.slice(i + 1, i + 3))?.[0] : undefined;
    if (hex !== undefined) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
      continue;
    }
    const text = decodeUtf8(bytes);
    if (text === undefined) return undefined;
    decoded += text;
    bytes = [];
    if (raw[i] === '\\') i++;
    if (i === raw.length) return undefined;
    decoded += raw[i];
  }
  const text = decodeUtf8(bytes);
  return text === undefined ? undefined : foldCase(decoded + text).replace(/\s+/gu, ' ').trim();
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: readonly number[]): string | undefined {
  if (bytes.length === 0) return '';
  try {
    return UTF8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/** Splits at each `separator` not escaped by a backslash (a `\\` is an escaped backslash). */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
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
 * Group membership, nested groups included (the directory resolves nesting into `user.groups`).
 * A name matches a group of that name anywhere; a DN matches only that group (a resolved group's DN,
 * or a `memberOf` value): `cn=admins,ou=it,…` must not admit members of another OU's `admins`.
 */
export function inGroup(user: User, reference: string): boolean {
  if (!reference.includes('=')) {
    const wanted = foldCase(reference.trim());
    return user.groups.some((group) => foldCase(group) === wanted);
  }
  const wanted = canonicalDn(reference);
  return wanted !== undefined && [...(user.groupDns ?? []), ...(user.attributes.memberof ?? [])].some((dn) => canonicalDn(dn) === wanted);
}
