import type { User } from '../core/types.ts';
import { attributeValues } from '../core/user-attributes.ts';
import { isPlausibleEmail } from '../core/email-address.ts';

/** Where an attribute's values come from: a profile field, the groups, or a raw directory attribute. */
export type AttributeSource = 'id' | 'username' | 'name' | 'email' | 'groups' | `attribute:${string}`;

export interface AttributeMapping {
  /** The SAML attribute Name, e.g. urn:oid:0.9.2342.19200300.100.1.3 or "email". */
  name: string;
  nameFormat: 'uri' | 'basic' | 'unspecified';
  friendlyName?: string;
  source: AttributeSource;
}

/** Released to a SAML SP that has no mapping of its own. */
export const DEFAULT_SAML_ATTRIBUTES: readonly AttributeMapping[] = [
  { name: 'urn:oid:0.9.2342.19200300.100.1.1', friendlyName: 'uid', nameFormat: 'uri', source: 'username' },
  { name: 'urn:oid:0.9.2342.19200300.100.1.3', friendlyName: 'mail', nameFormat: 'uri', source: 'email' },
  { name: 'urn:oid:2.16.840.1.113730.3.1.241', friendlyName: 'displayName', nameFormat: 'uri', source: 'name' },
  { name: 'urn:oid:1.3.6.1.4.1.5923.1.5.1.1', friendlyName: 'isMemberOf', nameFormat: 'uri', source: 'groups' },
];

/** The user's values for a source, as the directory holds them. */
function heldValues(user: User, source: AttributeSource): string[] {
  switch (source) {
    case 'id':
      return [user.id];
    case 'username':
      return [user.username];
    case 'name':
      return user.name ? [user.name] : [];
    case 'email':
      return user.email ? [user.email] : [];
    case 'groups':
      return [...user.groups];
    default:
      return attributeValues(user, source.slice('attribute:'.length));
  }
}

/**
 * The one mapping from the normalised profile to values, shared by SAML attributes, the emailAddress
 * NameID and OIDC claims. An email is released only when it looks like an address (isPlausibleEmail),
 * as the mail attribute, the email claim and the NameID alike. Each protocol leaves out, besides,
 * any value holding a character no relying party is given (isReleasableValue), with its own warning.
 */
export function valuesOf(user: User, source: AttributeSource): string[] {
  const held = heldValues(user, source);
  return source === 'email' ? held.filter(isPlausibleEmail) : held;
}

/**
 * Characters no relying party is given, in SAML or OIDC: control characters other than TAB, LF and
 * CR (C0, DEL and C1), the text-direction overrides and isolates (U+202A–U+202E, U+2066–U+2069: shown
 * by an application, "Mallory \u202Eecila" reads "Mallory alice", which is why local users' names
 * may not hold them), U+2028 LINE SEPARATOR, the noncharacters U+FFFE/U+FFFF and lone surrogates
 * (the `u` flag sees a pair as one code point). XML cannot carry most of them, and XML 1.1 line-end
 * handling, which xmldom (node-saml's parser) applies to every document, turns U+0085 and U+2028 into
 * a line feed, so a signed value holding one fails verification there. JSON can escape them all, but
 * an application that strips or rejects one may take the rest for another user's value (an email
 * it matches accounts by), so the value is left out, never altered.
 */
const UNRELEASABLE_CHARACTER = /[\0-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\u202A-\u202E\u2066-\u2069\u2028\uFFFE\uFFFF\uD800-\uDFFF]/u;

export function isReleasableValue(value: string): boolean {
  return !UNRELEASABLE_CHARACTER.test(value);
}

export interface ReleasedAttribute {
  name: string;
  nameFormat: AttributeMapping['nameFormat'];
  friendlyName?: string;
  values: string[];
}

export function samlAttributes(user: User, mappings: readonly AttributeMapping[]): ReleasedAttribute[] {
  return mappings
    .map((mapping) => ({ name: mapping.name, nameFormat: mapping.nameFormat, friendlyName: mapping.friendlyName, values: valuesOf(user, mapping.source) }))
    .filter((attribute) => attribute.values.length > 0);
}

export interface OidcClaims {
  claims: Record<string, unknown>;
  /** Claims of which the user has a value that was left out (not an email address, or a character isReleasableValue refuses), for a warning. */
  leftOut: string[];
}

/** Standard OIDC claims by scope; `sub` is set by the OIDC layer from the stable id. */
export function oidcClaims(user: User, scopes: ReadonlySet<string>): OidcClaims {
  const claims: Record<string, unknown> = {};
  const leftOut: string[] = [];
  const release = (claim: string, source: AttributeSource): string[] => {
    const values = valuesOf(user, source).filter(isReleasableValue);
    if (values.length < heldValues(user, source).length) leftOut.push(claim);
    return values;
  };
  if (scopes.has('profile')) {
    const [username] = release('preferred_username', 'username');
    if (username !== undefined) claims.preferred_username = username;
    const [name] = release('name', 'name');
    if (name !== undefined) claims.name = name;
  }
  if (scopes.has('email')) {
    const [email] = release('email', 'email');
    if (email !== undefined) {
      claims.email = email;
      claims.email_verified = false;
    }
  }
  if (scopes.has('groups')) claims.groups = release('groups', 'groups');
  return { claims, leftOut };
}
