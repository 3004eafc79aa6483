/**
 * Comparing DNs as the directory does. One comparison for the directory code (which member value is
 * which group) and the policies (which group a DN reference names): were they two, a group could be
 * one group to a sign-in and another to a rule.
 */
import { BoundedMap } from './bounded-map.ts';
import { foldCase, withSignificantSpaces } from './fold-case.ts';

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
  return text === undefined ? undefined : withSignificantSpaces(foldCase(decoded + text));
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
