/**
 * Comparing DNs, in three widths from one parser. canonicalDn folds as broadly as foldCase: a policy
 * rule that refuses or asks more must hold for `cn=ＡＤＭＩＮ` when it names `cn=admin`, or a deny rule
 * would fail open. ldapCanonicalDn folds ASCII case and U+0020 spaces only, in every value: a rule that
 * lets a user in needs it and canonicalDn to agree (src/policy/patterns.ts). The directory code, which
 * tells which group a member value is, compares no more broadly than every LDAP server matches
 * (directoryValueKey): folding more than the server would take one group for another, and give its
 * members the other's parent groups.
 */
import { BoundedMap } from './bounded-map.ts';
import { asciiLowerCase, asEveryLdapServerCompares, foldCase, withSignificantSpaces } from './fold-case.ts';

/** An attribute type: a name of letters, digits and hyphens, or an OID. */
const ATTRIBUTE_TYPE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)$/;

/** One attribute type and value of an RDN, both folded; the value with its escapes decoded. */
type Ava = readonly [type: string, value: string];

/** A value as compared, by its attribute type (lower case). */
type Fold = (type: string, value: string) => string;

/**
 * A DN as RFC 4514 writes it, in one canonical form, or undefined when it is not one. The same group
 * is spelled `cn=Sales\, EMEA`, `CN=sales\2c emea` (slapd's answer) or `cn = Sales\2C  EMEA`: escapes
 * (`\,`, hex pairs `\2C`, UTF-8 `\C3\A9`) are decoded, types and values compared folded, spaces around
 * `,` `=` `+` and runs of spaces in a value are insignificant (as LDAP's caseIgnoreMatch treats them),
 * and the values of a multi-valued RDN (`cn=a+uid=b`) compared in any order. Values are folded as the
 * policies fold names (foldCase).
 */
export const canonicalDn = canonicalDnFoldedBy((_type, value) => withSignificantSpaces(foldCase(value)));

/**
 * canonicalDn with values compared as directoryValueKey does: which entry a DN names. Two DNs with one
 * key are one entry to every LDAP server; two with different keys may still be one (`cn=Équipe` and
 * `cn=équipe`, `commonName=x` and `cn=x`), which only the server can tell.
 */
export const directoryDnKey = canonicalDnFoldedBy(directoryValueKey);

/**
 * canonicalDn with every value folded as a caseIgnore string is by every LDAP server (ASCII case,
 * RFC 4518's U+0020 spaces), whatever its type: the narrow width of a DN in a policy rule. Unlike
 * directoryDnKey, a `mail=` or `sn=` value is folded too: a rule's author may write any ASCII case in
 * any DN (as before policies told look-alikes apart), and those types are caseIgnore to every directory
 * anyway. Too broad to tell entries apart: `labeledURI=Team` and `labeledURI=team` are one here.
 */
export const ldapCanonicalDn = canonicalDnFoldedBy((_type, value) => asEveryLdapServerCompares(value));

/**
 * Attribute types whose values every directory matches without ASCII case and insignificant spaces
 * (caseIgnoreMatch, caseIgnoreIA5Match): those groups and users are named by. Others may match with
 * case (labeledURI, memberUid: caseExact; slapd keeps `labeledURI=Team` and `labeledURI=team` apart)
 * or as octets, so their values are compared as written.
 */
const CASE_IGNORING_TYPES = new Set(
  ['cn', 'commonName', 'ou', 'organizationalUnitName', 'o', 'organizationName', 'dc', 'domainComponent', 'uid', 'userid', 'l', 'localityName', 'st', 'stateOrProvinceName', 'c', 'countryName', 'street', 'streetAddress'].map(asciiLowerCase),
);

/**
 * A value of attribute `type` as it is compared to tell entries apart: without ASCII case and the
 * spaces RFC 4518 makes insignificant when the type is one every directory matches so, else exactly.
 */
export function directoryValueKey(type: string, value: string): string {
  return CASE_IGNORING_TYPES.has(asciiLowerCase(type)) ? asEveryLdapServerCompares(value) : value;
}

function canonicalDnFoldedBy(fold: Fold): (dn: string) => string | undefined {
  // Every decision compares each of the user's group DNs (a user may have hundreds): the same few
  // thousand DNs again and again, so their canonical forms are kept.
  const known = new BoundedMap<string, string | null>(20_000);
  return (dn) => {
    if (known.has(dn)) return known.get(dn) ?? undefined;
    const canonical = canonicalDnOf(dn, fold);
    known.set(dn, canonical ?? null);
    return canonical;
  };
}

function canonicalDnOf(dn: string, fold: Fold): string | undefined {
  const rdns = splitUnescaped(dn, ',').map((rdn) => splitUnescaped(rdn, '+').map((ava) => parseAva(ava, fold)));
  if (rdns.some((avas) => avas.some((ava) => ava === undefined))) return undefined;
  return JSON.stringify(rdns.map((avas) => avas.map((ava) => ava!.join('=')).sort()));
}

function parseAva(text: string, fold: Fold): Ava | undefined {
  const equals = text.indexOf('=');
  const type = text.slice(0, equals).trim();
  if (equals < 0 || !ATTRIBUTE_TYPE.test(type)) return undefined;
  const decoded = decodeValue(text.slice(equals + 1));
  if (decoded === undefined || decoded === '') return undefined;
  return [asciiLowerCase(type), fold(asciiLowerCase(type), decoded) || ALL_SPACES];
}

/**
 * What a value of spaces only folds to, rather than to nothing: `cn=\20`, `cn=\ \ ` and `cn=\C2\A0`
 * name one group to slapd, which a deny rule must be able to name (refused as empty, it would never
 * hold). No other value folds to a space: spaces at a value's ends are folded away.
 */
const ALL_SPACES = ' ';

/** White space a DN parser (slapd's) leaves out when it is unescaped at a value's start or end. */
const UNESCAPED_SPACE = new Set([' ', '\t', '\n', '\r']);

/**
 * `\XX` hex pairs are UTF-8 bytes (a run of them one sequence), `\c` is c. Unescaped characters are
 * taken as they are, whatever RFC 4514 says should be escaped: refusing a directory's own spelling
 * would make a deny rule fail open. Unescaped white space at either end is left out, as slapd's parser
 * does: `cn=<tab>admins` is `cn=admins` to slapd, another group than `cn=\09admins`. Once decoded
 * the two are alike, and the narrow width keeps a tab as slapd does: a permit rule written with a raw
 * tab would let in the members of `cn=\09admins`.
 */
function decodeValue(raw: string): string | undefined {
  let decoded = '';
  // The length of `decoded` up to its last character that is escaped or not white space.
  let significant = 0;
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
    if (text !== '') significant = decoded.length;
    bytes = [];
    const escaped = raw[i] === '\\';
    if (escaped) i++;
    if (i === raw.length) return undefined;
    // slapd takes white space right after an escaped backslash (`\\<tab>`) as escaped, and keeps it.
    const space = !escaped && UNESCAPED_SPACE.has(raw[i]!) && raw[i - 1] !== '\\';
    if (space && decoded === '') continue;
    decoded += raw[i];
    if (!space) significant = decoded.length;
  }
  const text = decodeUtf8(bytes);
  if (text === undefined) return undefined;
  return text === '' ? decoded.slice(0, significant) : decoded + text;
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
