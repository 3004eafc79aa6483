import type { User } from '../core/types.ts';
import { attributeValues } from '../core/user-attributes.ts';

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

/** The one mapping from the normalised profile to values, shared by SAML attributes and OIDC claims. */
export function valuesOf(user: User, source: AttributeSource): string[] {
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

/** Standard OIDC claims by scope; `sub` is set by the OIDC layer from the stable id. */
export function oidcClaims(user: User, scopes: ReadonlySet<string>): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  if (scopes.has('profile')) {
    claims.preferred_username = user.username;
    if (user.name) claims.name = user.name;
  }
  if (scopes.has('email') && user.email) {
    claims.email = user.email;
    claims.email_verified = false;
  }
  if (scopes.has('groups')) claims.groups = [...user.groups];
  return claims;
}
