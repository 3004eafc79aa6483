/**
 * A user's stable id from `users.idAttribute` (OIDC `sub`, persistent NameIDs, and inside Stepgate the
 * key of MFA enrolments, locks and sessions), and the value to search for to find the entry again.
 * Every byte of a binary value is kept: an id cut short is the same for many users.
 */
import { isUtf8 } from 'node:buffer';
import type { Entry } from 'ldapts';
import type { LdapDirectoryConfig } from './ldap-config.ts';
import { isBinaryAttribute, valueBytes } from './ldap-binary-attributes.ts';
import { attributeValues, equalityFilter } from './ldap-filter.ts';

type IdSettings = Pick<LdapDirectoryConfig['users'], 'idAttribute' | 'binaryAttributes'>;

/** AD's GUID attributes (lower case; Microsoft writes the second ms-DS-ConsistencyGuid), shown in the usual GUID text when they are 16 bytes. */
const GUID_ATTRIBUTES = new Set(['objectguid', 'ms-ds-consistencyguid']);
const SID_ATTRIBUTE = 'objectsid';

/**
 * An entry's stable id: objectGUID (and ms-DS-ConsistencyGuid) of 16 bytes as GUID text, objectSid as
 * its S-1-5-21-… text, any other binary value as the base64url of all its bytes, text as it is.
 */
export function entryId(entry: Entry, users: IdSettings): string | undefined {
  const wanted = users.idAttribute.toLowerCase();
  const [value] = attributeValues(entry, users.idAttribute);
  if (value === undefined) return undefined;
  if (!Buffer.isBuffer(value) && !isBinaryAttribute(users.idAttribute, users)) return value;
  const bytes = valueBytes(value);
  if (GUID_ATTRIBUTES.has(wanted) && bytes.length === 16) return formatGuid(bytes);
  if (wanted === SID_ATTRIBUTE) return formatSid(bytes) ?? bytes.toString('base64url');
  return bytes.toString('base64url');
}

/** The filter that finds the entry `id` came from; null for an id no entry can have (see idSearchValues). */
export function idFilter(id: string, users: IdSettings): string | null {
  const clauses = idSearchValues(id, users).map((value) => equalityFilter(users.idAttribute, value));
  if (clauses.length === 0) return null;
  return clauses.length === 1 ? clauses[0]! : `(|${clauses.join('')})`;
}

/**
 * The values to search `users.idAttribute` for, to find the entry `id` came from (an equality match
 * on any of them); none for an id no entry can have: UUID-syntax attributes reject a malformed value
 * with an error rather than "no match".
 */
export function idSearchValues(id: string, users: IdSettings): Array<string | Buffer> {
  if (!id) return [];
  const wanted = users.idAttribute.toLowerCase();
  if (GUID_ATTRIBUTES.has(wanted)) {
    const guid = guidBytes(id);
    if (guid) return [guid];
    const bytes = base64urlBytes(id);
    return bytes && bytes.length !== 16 ? [bytes] : [];
  }
  if (wanted === SID_ATTRIBUTE) {
    const sid = sidBytes(id);
    if (sid) return [sid];
    const bytes = base64urlBytes(id);
    return bytes && formatSid(bytes) === null ? [bytes] : [];
  }
  if (isBinaryAttribute(users.idAttribute, users)) {
    const bytes = base64urlBytes(id);
    return bytes ? [bytes] : [];
  }
  if (wanted === 'entryuuid') return UUID.test(id) ? [id] : [];
  // A text attribute holding some values that are not UTF-8 gave those entries base64url ids.
  const bytes = base64urlBytes(id);
  return bytes && !isUtf8(bytes) ? [id, bytes] : [id];
}

/** The bytes `id` is the base64url of, when it is exactly that (the form entryId writes). */
function base64urlBytes(id: string): Buffer | null {
  const bytes = Buffer.from(id, 'base64url');
  return bytes.length > 0 && bytes.toString('base64url') === id ? bytes : null;
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
 * A binary SID as text (MS-DTYP 2.4.2.1): revision 1, a count of sub-authorities, a 48-bit big-endian
 * identifier authority, then that many 32-bit little-endian sub-authorities (the last one is the RID).
 * null for bytes that are not a SID.
 */
function formatSid(b: Buffer): string | null {
  if (b.length < 8 || b[0] !== 1) return null;
  const count = b[1]!;
  if (count > 15 || b.length !== 8 + 4 * count) return null;
  const authority = b.readUIntBE(2, 6);
  const authorityText = authority < 2 ** 32 ? String(authority) : `0x${authority.toString(16).toUpperCase().padStart(12, '0')}`;
  const subAuthorities = Array.from({ length: count }, (_, i) => String(b.readUInt32LE(8 + 4 * i)));
  return ['S', '1', authorityText, ...subAuthorities].join('-');
}

const SID = /^S-1-(\d+|0x[0-9A-F]{12})((?:-\d+){0,15})$/;

/** The bytes of a SID in the text formatSid writes; null for any other text. */
function sidBytes(sid: string): Buffer | null {
  const m = SID.exec(sid);
  if (!m) return null;
  const subAuthorities = m[2]!.split('-').slice(1).map(Number);
  const authority = Number(m[1]!);
  if (!Number.isSafeInteger(authority) || authority >= 2 ** 48 || subAuthorities.some((s) => s > 0xffffffff)) return null;
  const bytes = Buffer.alloc(8 + 4 * subAuthorities.length);
  bytes[0] = 1;
  bytes[1] = subAuthorities.length;
  bytes.writeUIntBE(authority, 2, 6);
  subAuthorities.forEach((s, i) => bytes.writeUInt32LE(s, 8 + 4 * i));
  // Only the one spelling entryId writes (no leading zeros, no decimal authority of 2^32 or more).
  return formatSid(bytes) === sid ? bytes : null;
}
