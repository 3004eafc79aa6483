/**
 * Which directory attributes hold bytes rather than text. ldapts returns a value as a Buffer only when
 * its bytes are not valid UTF-8, so without being told, a photo or a SID is text for one user and bytes
 * for another: released once as base64, once as raw characters, and an id made of it changes form.
 */
import type { LdapDirectoryConfig } from './ldap-config.ts';

/**
 * Binary attributes of the usual schemas (RFC 4517/4523 core, cosine, inetOrgPerson; Active Directory),
 * as servers spell them in answers: ldapts matches explicitBufferAttributes by exact spelling.
 */
const KNOWN_BINARY = [
  'audio',
  'authorityRevocationList',
  'cACertificate',
  'certificateRevocationList',
  'crossCertificatePair',
  'deltaRevocationList',
  'jpegPhoto',
  'logonHours',
  'mS-DS-ConsistencyGuid',
  'mS-DS-CreatorSID',
  'msExchArchiveGUID',
  'msExchMailboxGuid',
  'objectGUID',
  'objectSid',
  'personalSignature',
  'photo',
  'sIDHistory',
  'thumbnailPhoto',
  'tokenGroups',
  'userCertificate',
  'userPKCS12',
  'userSMIMECertificate',
];
const KNOWN_BINARY_LOWER = new Set(KNOWN_BINARY.map((name) => name.toLowerCase()));

/** The binary-attribute settings: `users.binaryAttributes` names any others, `users.idAttribute` may be one. */
type UsersBinarySettings = Pick<LdapDirectoryConfig['users'], 'binaryAttributes' | 'idAttribute'>;

/**
 * Whether values of `name` are bytes: a known binary attribute, one in `users.binaryAttributes`, or
 * any transferred with the `;binary` option (RFC 4522). Options such as `;lang-en` do not change it.
 */
export function isBinaryAttribute(name: string, users: Pick<UsersBinarySettings, 'binaryAttributes'>): boolean {
  const [base = '', ...options] = name.toLowerCase().split(';');
  return options.includes('binary') || KNOWN_BINARY_LOWER.has(base) || users.binaryAttributes.some((extra) => extra.toLowerCase() === base);
}

/**
 * ldapts's `explicitBufferAttributes` for every search: each binary attribute in the server's usual
 * spelling, in lower case, and as configured (a server may answer in the spelling it was asked with).
 */
export function explicitBufferAttributes(users: UsersBinarySettings): string[] {
  const configured = [...users.binaryAttributes, ...(isBinaryAttribute(users.idAttribute, users) ? [users.idAttribute] : [])];
  return [...new Set([...KNOWN_BINARY, ...configured].flatMap((name) => [name, name.toLowerCase()]))];
}

/**
 * A value's bytes. A binary attribute answered in a spelling explicitBufferAttributes missed comes back
 * as text when its bytes happen to be UTF-8; encoding that text again gives those bytes back (all but
 * a leading byte-order mark, which ldapts's decoder drops: the spellings above avoid the case).
 */
export function valueBytes(value: string | Buffer): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
}
