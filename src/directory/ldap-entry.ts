/** Reading a directory entry: the User a sign-in hands on. */
import type { Entry } from 'ldapts';
import type { User } from '../core/types.ts';
import { DirectoryMisconfiguredError } from './directory.ts';
import type { LdapDirectoryConfig } from './ldap-config.ts';
import { isBinaryAttribute, valueBytes } from './ldap-binary-attributes.ts';
import { entryId } from './ldap-entry-id.ts';
import { entryValue } from './ldap-filter.ts';
import type { ResolvedGroups } from './ldap-groups.ts';

/** Never copied into User.attributes. */
const SECRET_ATTRIBUTES = new Set(['userpassword', 'unicodepwd', 'pwdhistory', 'sambantpassword', 'sambalmpassword', 'authpassword']);

/** The User of an entry, with its groups; secrets and the account-state attributes are never copied. */
export function userFromEntry(entry: Entry, groups: ResolvedGroups, users: LdapDirectoryConfig['users'], stateAttributes: string[]): User {
  const { idAttribute, usernameAttribute, nameAttribute, emailAttribute } = users;
  const hidden = new Set([...SECRET_ATTRIBUTES, ...stateAttributes.map((a) => a.toLowerCase())]);
  const attributes: Record<string, string[]> = {};
  const id = entryId(entry, users);
  for (const [key, raw] of Object.entries(entry)) {
    const values = (Array.isArray(raw) ? raw : [raw]) as Array<string | Buffer>;
    // ldapts lists requested-but-absent attributes (even '*') with no values: an attribute without values does not exist
    if (key === 'dn' || hidden.has(key.toLowerCase()) || values.length === 0) continue;
    // A binary attribute is base64 whatever its bytes, so a relying party decodes every user's value the same way.
    const binary = isBinaryAttribute(key, users);
    attributes[key.toLowerCase()] = values.map((v) => (binary || Buffer.isBuffer(v) ? valueBytes(v).toString('base64') : v));
  }
  // userCertificate;binary is userCertificate sent as bytes (RFC 4522): a mapping may name either.
  for (const key of Object.keys(attributes)) {
    const plain = key.replace(/;binary$/, '');
    if (plain !== key && !Object.hasOwn(attributes, plain)) attributes[plain] = attributes[key]!;
  }
  // an operational id (entryUUID) is often hidden by the directory's access rules rather than absent
  if (!id) throw new DirectoryMisconfiguredError(`entry ${entry.dn} has no ${idAttribute}; check users.idAttribute, and that the service account (bind.dn) may read ${idAttribute}`);
  // Without one, every such user would be released with the same empty uid and preferred_username: one person to the applications.
  const username = entryValue(entry, usernameAttribute);
  if (!username) throw new DirectoryMisconfiguredError(`entry ${entry.dn} has no ${usernameAttribute}; check users.usernameAttribute, and that the service account (bind.dn) may read ${usernameAttribute}`);
  return {
    id,
    username,
    name: entryValue(entry, nameAttribute),
    email: entryValue(entry, emailAttribute),
    groups: groups.names,
    groupDns: groups.dns,
    attributes,
  };
}
