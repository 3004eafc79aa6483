/**
 * Comparing DNs, in three widths from one parser. canonicalDn folds as broadly as foldCase: a policy
 * rule that refuses or asks more must hold for `cn=ＡＤＭＩＮ` when it names `cn=admin`, or a deny rule
 * would fail open. ldapCanonicalDn folds ASCII case and U+0020 spaces only, in every value: a rule that
 * lets a user in needs it and canonicalDn to agree (src/policy/group-references.ts); it reads a DN as slapd
 * does, and takes none that slapd refuses. The directory code, which tells which group a member value
 * is, compares no more broadly than every LDAP server matches (directoryValueKey): folding more than
 * the server would take one group for another, and give its members the other's parent groups.
 * What a DN says (parsedDn: a group's name in its first RDN) is read by the same parser.
 */
import { BoundedMap } from './bounded-map.ts';
import { asciiLowerCase, asEveryLdapServerCompares, foldCase, withSignificantSpaces } from './fold-case.ts';

/** An attribute type: a name of letters, digits and hyphens, or an OID. */
const ATTRIBUTE_TYPE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)$/;

/** One attribute type and value of an RDN: the type as written, the value with its escapes decoded. */
export interface AttributeValue {
  type: string;
  value: string;
}

/** A value as compared, by its attribute type (lower case). */
type Fold = (type: string, value: string) => string;

/**
 * A DN as RFC 4514 writes it, in one canonical form, or undefined when it is not one. The same group
 * is spelled `cn=Sales\, EMEA`, `CN=sales\2c emea` (slapd's answer) or `cn = Sales\2C  EMEA`: escapes
 * (`\,`, hex pairs `\2C`, UTF-8 `\C3\A9`) are decoded, types and values compared folded, spaces around
 * `,` `=` `+` and runs of spaces in a value are insignificant (as LDAP's caseIgnoreMatch treats them),
 * and the values of a multi-valued RDN (`cn=a+uid=b`) compared in any order. Values are folded as the
 * policies fold names (foldCase). LDAPv2's spellings are read as slapd reads them (`cn="admins";ou=…`
 * is cn=admins,ou=…: withLdapV2Spellings); a DN slapd refuses is read as written (`cn=R;D,…`,
 * `cn=a<b,…`), what its author meant: a deny rule holds for that group.
 */
export function canonicalDn(dn: string): string | undefined {
  return canonicalDnAsRead(dn) ?? canonicalDnAsWritten(dn);
}

const canonicalDnAsRead = canonicalDnFoldedBy(foldedAsNames, { asServersRead: true });
const canonicalDnAsWritten = canonicalDnFoldedBy(foldedAsNames);

function foldedAsNames(_type: string, value: string): string {
  return withSignificantSpaces(foldCase(value));
}

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
 * Read as slapd reads a DN, and undefined where slapd refuses it: a permit rule `cn=a<b,…` names no
 * group, rather than the one its spelling would (see refusedBySlapd).
 */
export const ldapCanonicalDn = canonicalDnFoldedBy((_type, value) => asEveryLdapServerCompares(value), { asServersRead: true });

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

/**
 * `asServersRead`: a DN as slapd reads one (withLdapV2Spellings), and no DN where slapd refuses a value
 * (refusedBySlapd); else as written, each character as it is.
 */
function canonicalDnFoldedBy(fold: Fold, { asServersRead = false } = {}): (dn: string) => string | undefined {
  // Every decision compares each of the user's group DNs (a user may have hundreds): the same few
  // thousand DNs again and again, so their canonical forms are kept.
  const known = new BoundedMap<string, string | null>(20_000);
  return (dn) => {
    if (known.has(dn)) return known.get(dn) ?? undefined;
    const canonical = canonicalDnOf(dn, fold, asServersRead);
    known.set(dn, canonical ?? null);
    return canonical;
  };
}

function canonicalDnOf(dn: string, fold: Fold, asServersRead: boolean): string | undefined {
  const rdns = rdnsOf(dn, asServersRead);
  if (rdns === undefined) return undefined;
  return JSON.stringify(rdns.map((avas) => avas.map(({ type, value }) => `${asciiLowerCase(type)}=${fold(asciiLowerCase(type), value) || ALL_SPACES}`).sort()));
}

/**
 * A DN's RDNs, each with its attribute types and values in the order written, read as canonicalDn
 * reads a DN (as slapd does, or else as written); undefined when it is not a DN. For what a DN says,
 * such as a group's name in its first RDN, rather than which entry it names.
 */
export function parsedDn(dn: string): AttributeValue[][] | undefined {
  return rdnsOf(dn, true) ?? rdnsOf(dn, false);
}

function rdnsOf(dn: string, asServersRead: boolean): AttributeValue[][] | undefined {
  const read = asServersRead ? withLdapV2Spellings(dn) : dn;
  if (read === undefined) return undefined;
  const rdns = splitUnescaped(read, ',').map((rdn) => splitUnescaped(rdn, '+').map((ava) => parseAva(ava, asServersRead)));
  return rdns.every((avas) => avas.every((ava) => ava !== undefined)) ? (rdns as AttributeValue[][]) : undefined;
}

function parseAva(text: string, asServersRead: boolean): AttributeValue | undefined {
  const equals = text.indexOf('=');
  const type = text.slice(0, equals).trim();
  if (equals < 0 || !ATTRIBUTE_TYPE.test(type)) return undefined;
  if (asServersRead && refusedBySlapd(text.slice(equals + 1))) return undefined;
  const value = decodeValue(text.slice(equals + 1));
  return value === undefined || value === '' ? undefined : { type, value };
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
 * would make a deny rule fail open (the narrow width refuses what slapd refuses: refusedBySlapd).
 * Unescaped white space at either end is left out, as slapd's parser does: `cn=<tab>admins` is
 * `cn=admins` to slapd, another group than `cn=\09admins`. Once decoded the two are alike, and the
 * narrow width keeps a tab as slapd does: a permit rule written with a raw tab would let in the
 * members of `cn=\09admins`.
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

/**
 * A DN with the spellings of LDAPv2 (RFC 1779), which slapd reads too, as RFC 4514 writes them: a `;`
 * between RDNs is a `,`, and a value in double quotes (`cn="Sales; EMEA"`, spaces and any character
 * taken as they are, `\c` for c) is its characters, escaped. Undefined where slapd refuses a quoted
 * value: a quote not closed, an empty one, anything but white space after it.
 */
function withLdapV2Spellings(dn: string): string | undefined {
  let written = '';
  let inValue = false;
  // Whether the value has begun: only its first character other than white space may open a quote.
  let begun = false;
  for (let i = 0; i < dn.length; i++) {
    const char = dn[i]!;
    if (char === '\\') {
      written += dn.slice(i, i + 2);
      i++;
      begun = inValue;
    } else if (!inValue) {
      written += char;
      inValue = char === '=';
    } else if (char === ',' || char === '+' || char === ';') {
      written += char === ';' ? ',' : char;
      inValue = begun = false;
    } else if (char === '"' && !begun) {
      const quoted = quotedValue(dn, i + 1);
      if (quoted === undefined) return undefined;
      written += quoted.escaped;
      i = quoted.end - 1;
      begun = true;
    } else {
      written += char;
      begun ||= !UNESCAPED_SPACE.has(char);
    }
  }
  return written;
}

/**
 * The value quoted from `start` (after its opening quote) to its closing quote, each byte hex-escaped,
 * and where the white space after the closing quote ends.
 */
function quotedValue(dn: string, start: number): { escaped: string; end: number } | undefined {
  let value = '';
  let i = start;
  for (; i < dn.length && dn[i] !== '"'; i++) {
    if (dn[i] === '\\') i++;
    if (i < dn.length) value += dn[i];
  }
  if (i >= dn.length || value === '') return undefined;
  let end = i + 1;
  while (end < dn.length && UNESCAPED_SPACE.has(dn[end]!)) end++;
  if (end < dn.length && !',+;'.includes(dn[end]!)) return undefined;
  return { escaped: [...new TextEncoder().encode(value)].map((byte) => `\\${byte.toString(16).padStart(2, '0')}`).join(''), end };
}

/**
 * A value slapd refuses (an invalid DN): `<`, `>` or `"` unescaped (a quote that opens a value is
 * read by withLdapV2Spellings), or `#` first, which RFC 4514 makes the hex of a BER encoding and slapd
 * does not take. Read as written, a permit rule would let in the members of a group that no DN so
 * spelled names to slapd.
 */
function refusedBySlapd(raw: string): boolean {
  let begun = false;
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i]!;
    if (char === '\\') i++;
    else if ('<>"'.includes(char) || (char === '#' && !begun)) return true;
    begun ||= !UNESCAPED_SPACE.has(char);
  }
  return false;
}

/** A DN's RDNs as written, without reading their values: the text between its unescaped commas. */
export function rdnsAsWritten(dn: string): string[] {
  return splitUnescaped(dn, ',');
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
