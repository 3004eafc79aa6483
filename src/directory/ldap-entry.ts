/** Reading a directory entry: its stable id, and the User a sign-in hands on. */
import type { Entry } from 'ldapts';
import type { User } from '../core/types.ts';
import { DirectoryMisconfiguredError } from './directory.ts';
import type { LdapDirectoryConfig } from './ldap-config.ts';
import { entryValue } from './ldap-filter.ts';
import type { ResolvedGroups } from './ldap-groups.ts';

/** Never copied into User.attributes. */
const SECRET_ATTRIBUTES = new Set(['userpassword', 'unicodepwd', 'pwdhistory', 'sambantpassword', 'sambalmpassword', 'authpassword']);

/** An entry's stable id (`users.idAttribute`; AD's binary objectGUID in its usual text form), as sign-ins read it. */
export function entryId(entry: Entry, idAttribute: string): string | undefined {
  const wanted = idAttribute.toLowerCase();
  const key = Object.keys(entry).find((name) => name.toLowerCase() === wanted);
  const [value] = key === undefined ? [] : ([entry[key]].flat() as Array<string | Buffer>);
  if (value === undefined) return undefined;
  return Buffer.isBuffer(value) ? formatGuid(value) : value;
}

/** objectGUID bytes as the usual GUID text (the first three groups are little-endian). */
function formatGuid(b: Buffer): string {
  const h = (i: number, n: number, le: boolean): string => {
    const part = Buffer.from(b.subarray(i, i + n));
    return (le ? part.reverse() : part).toString('hex');
  };
  return `${h(0, 4, true)}-${h(4, 2, true)}-${h(6, 2, true)}-${h(8, 2, false)}-${h(10, 6, false)}`;
}

const UUID = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i;

function guidBytes(guid: string): Buffer | null {
  const m = UUID.exec(guid);
  if (!m) return null;
  const le = (s: string): Buffer => Buffer.from(s, 'hex').reverse();
  return Buffer.concat([le(m[1]!), le(m[2]!), le(m[3]!), Buffer.from(m[4]! + m[5]!, 'hex')]);
}

/**
 * The value to search `idAttribute` (lower-cased in `kind`) for: AD's objectGUID as its bytes.
 * null for an id that cannot be one: UUID-syntax attributes reject malformed values with an error
 * rather than "no match".
 */
export function idSearchValue(id: string, kind: string): string | Buffer | null {
  if (!id || ((kind === 'objectguid' || kind === 'entryuuid') && !UUID.test(id))) return null;
  return kind === 'objectguid' ? guidBytes(id) : id;
}

/** The User of an entry, with its groups; secrets and the account-state attributes are never copied. */
export function userFromEntry(entry: Entry, groups: ResolvedGroups, users: LdapDirectoryConfig['users'], stateAttributes: string[]): User {
  const { idAttribute, usernameAttribute, nameAttribute, emailAttribute } = users;
  const hidden = new Set([...SECRET_ATTRIBUTES, ...stateAttributes.map((a) => a.toLowerCase())]);
  const attributes: Record<string, string[]> = {};
  const id = entryId(entry, idAttribute);
  for (const [key, raw] of Object.entries(entry)) {
    const values = (Array.isArray(raw) ? raw : [raw]) as Array<string | Buffer>;
    // ldapts lists requested-but-absent attributes (even '*') with no values: an attribute without values does not exist
    if (key === 'dn' || hidden.has(key.toLowerCase()) || values.length === 0) continue;
    attributes[key.toLowerCase()] = values.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v));
  }
  if (!id) throw new DirectoryMisconfiguredError(`entry ${entry.dn} has no ${idAttribute}; check users.idAttribute`);
  return {
    id,
    username: entryValue(entry, usernameAttribute) ?? '',
    name: entryValue(entry, nameAttribute),
    email: entryValue(entry, emailAttribute),
    groups: groups.names,
    groupDns: groups.dns,
    attributes,
  };
}
