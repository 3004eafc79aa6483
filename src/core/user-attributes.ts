import type { User } from './types.ts';

/**
 * The values of one of the user's directory attributes (name in any case); none when the user has no
 * such attribute. Only the record's own keys count: a name such as `constructor` or `__proto__` (typed
 * by an administrator into a policy or a mapping) must find nothing, not the object's prototype.
 */
export function attributeValues(user: User, name: string): string[] {
  const key = name.toLowerCase();
  const values = Object.hasOwn(user.attributes, key) ? user.attributes[key] : undefined;
  return Array.isArray(values) ? values : [];
}

/** An LDAP attribute description (a name with options) or an OID: never `__proto__`, which an object would misread. */
const ATTRIBUTE_NAME = /^(?:[A-Za-z][A-Za-z0-9-]*(?:;[A-Za-z0-9-]+)*|\d+(?:\.\d+)*)$/;

export function isAttributeName(name: string): boolean {
  return ATTRIBUTE_NAME.test(name);
}
