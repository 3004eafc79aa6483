/**
 * Writes XML that is already in W3C Exclusive XML Canonicalization form (exc-c14n, with the "xs"
 * prefix inclusive), so the text itself is what a signature digests: no DOM, no re-serialisation.
 * The caller places each namespace declaration on the elements that use it (exc-c14n renders it
 * there and nowhere else); this module orders declarations and attributes, writes start and end
 * tags for every element, and escapes text and attribute values exactly as c14n prints them.
 */

export interface ElementParts {
  /** Namespace declarations of this element, prefix → URI. */
  ns?: Record<string, string>;
  /** Attributes; undefined values are left out. A prefixed name needs its URI in `attributeNs`. */
  attributes?: Record<string, string | undefined>;
  /** URIs of the prefixes used by attribute names (e.g. xsi for xsi:type). */
  attributeNs?: Record<string, string>;
}

/** One element with its content (already-written elements and escaped text). */
export function element(name: string, parts: ElementParts, ...content: string[]): string {
  return `<${name}${declarations(parts.ns)}${attributes(parts)}>${content.join('')}</${name}>`;
}

/** Character content, escaped as c14n prints it. */
export function text(value: string): string {
  return representable(value).replace(/[&<>\r]/g, (character) => TEXT_ESCAPES[character]!);
}

function declarations(ns: Record<string, string> | undefined): string {
  if (!ns) return '';
  return Object.keys(ns)
    .sort(byCodeUnits)
    .map((prefix) => ` xmlns:${prefix}="${attributeValue(ns[prefix]!)}"`)
    .join('');
}

/** c14n order: unqualified attributes by name, then qualified ones by namespace URI, then local name. */
function attributes(parts: ElementParts): string {
  const entries = Object.entries(parts.attributes ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined);
  const sortKey = (name: string): [string, string] => {
    const colon = name.indexOf(':');
    if (colon < 0) return ['', name];
    const uri = parts.attributeNs?.[name.slice(0, colon)];
    if (uri === undefined) throw new Error(`attribute ${name}: no namespace URI given for its prefix`);
    return [uri, name.slice(colon + 1)];
  };
  return entries
    .map(([name, value]) => ({ name, value, key: sortKey(name) }))
    .sort((a, b) => byCodeUnits(a.key[0], b.key[0]) || byCodeUnits(a.key[1], b.key[1]))
    .map(({ name, value }) => ` ${name}="${attributeValue(value)}"`)
    .join('');
}

/** An attribute value, escaped as c14n prints it (also valid for XML that is not signed from its text). */
export function attributeValue(value: string): string {
  return representable(value).replace(/[&<"\t\n\r]/g, (character) => ATTRIBUTE_ESCAPES[character]!);
}

/** Anything outside XML 1.0's Char production: most C0 controls, U+FFFE/U+FFFF, and lone surrogates (the `u` flag sees those as code points). */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Whether XML 1.0 can carry the value at all (no escape exists for a control character). */
export function xmlRepresentable(value: string): boolean {
  return !NOT_XML_CHAR.test(value);
}

/**
 * Dropping such a character would send another value than the one held, e.g. one user's email as
 * another's NameID; callers leave such values out (sso-finish.ts), so one arriving here is a bug.
 */
function representable(value: string): string {
  if (!xmlRepresentable(value)) throw new Error('a value with a character XML 1.0 cannot carry reached the SAML writer');
  return value;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#xD;' };
const ATTRIBUTE_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '"': '&quot;', '\t': '&#x9;', '\n': '&#xA;', '\r': '&#xD;' };
