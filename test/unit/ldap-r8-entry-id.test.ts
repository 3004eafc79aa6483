import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry } from 'ldapts';
import { entryId, idSearchValues } from '../../src/directory/ldap-entry-id.ts';
import { userFromEntry } from '../../src/directory/ldap-entry.ts';
import { explicitBufferAttributes } from '../../src/directory/ldap-binary-attributes.ts';
import { ldapDirectorySchema } from '../../src/directory/ldap-config.ts';

// Ids from users.idAttribute keep every byte of a binary value: AD's objectSid (28 bytes, the RID
// last) cut to 16 bytes as a GUID was the same for every account of a domain.

/** An AD SID: revision 1, 5 sub-authorities, authority 5 (NT), 21, the domain's three numbers, the RID (little-endian). */
function sid(rid: number): Buffer {
  const bytes = Buffer.alloc(28);
  bytes.set([1, 5, 0, 0, 0, 0, 0, 5]);
  [21, 2398198481, 2839855639, 2449350763, rid].forEach((sub, i) => bytes.writeUInt32LE(sub, 8 + 4 * i));
  return bytes;
}
const entry = (attribute: string, value: string | Buffer): Entry => ({ dn: 'uid=x,ou=people,dc=example,dc=org', [attribute]: value });
const users = (idAttribute: string, binaryAttributes: string[] = []) => ({ idAttribute, binaryAttributes });

test('objectSid: the S-1-5-21-… text of the whole SID, one per account, found again by its bytes', () => {
  const alice = entryId(entry('objectSid', sid(1105)), users('objectSid'));
  const mallory = entryId(entry('objectSid', sid(1106)), users('objectSid'));
  assert.equal(alice, 'S-1-5-21-2398198481-2839855639-2449350763-1105');
  assert.equal(mallory, 'S-1-5-21-2398198481-2839855639-2449350763-1106');
  assert.deepEqual(idSearchValues(alice!, users('objectSid')), [sid(1105)]);
  // BUILTIN\Administrators, as MS-DTYP writes it
  assert.equal(entryId(entry('objectSid', Buffer.from('01020000000000052000000020020000', 'hex')), users('objectSid')), 'S-1-5-32-544');
  // only the spelling entryId writes names an entry
  assert.deepEqual(idSearchValues('S-1-5-21-02398198481-2839855639-2449350763-1105', users('objectSid')), []);
  assert.deepEqual(idSearchValues('S-1-5-21-1-4294967296', users('objectSid')), []);
});

test('objectGUID keeps its GUID text (ids already issued stay the same) and is found by its 16 bytes', () => {
  const bytes = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const id = entryId(entry('objectGUID', bytes), users('objectGUID'));
  assert.equal(id, '33221100-5544-7766-8899-aabbccddeeff');
  assert.deepEqual(idSearchValues(id!, users('objectGUID')), [bytes]);
  assert.equal(entryId(entry('mS-DS-ConsistencyGuid', bytes), users('ms-DS-ConsistencyGuid')), id);
});

test('a GUID attribute that is not 16 bytes, and any other binary attribute: the base64url of all its bytes', () => {
  const long = Buffer.concat([Buffer.alloc(16, 7), Buffer.from([1, 2])]);
  const guidish = entryId(entry('objectGUID', long), users('objectGUID'));
  assert.equal(guidish, long.toString('base64url'));
  assert.deepEqual(idSearchValues(guidish!, users('objectGUID')), [long]);

  const alice = entryId(entry('audio', sid(1105)), users('audio'));
  assert.equal(alice, sid(1105).toString('base64url'));
  assert.notEqual(entryId(entry('audio', sid(1106)), users('audio')), alice);
  assert.deepEqual(idSearchValues(alice!, users('audio')), [sid(1105)]);
  // a binary value whose bytes happen to be UTF-8 (ldapts then answers text) is the same kind of id
  assert.equal(entryId(entry('audio', 'AB'), users('audio')), Buffer.from('AB').toString('base64url'));
  // users.binaryAttributes declares one the built-in list does not know
  assert.equal(entryId(entry('badgeId', 'AB'), users('badgeId', ['badgeId'])), 'QUI');
  assert.deepEqual(idSearchValues('QUI', users('badgeId', ['badgeId'])), [Buffer.from('AB')]);
});

test('text ids are as they are; bytes in an undeclared attribute are base64url and are searched both ways', () => {
  assert.equal(entryId(entry('entryUUID', '5a1e0000-0000-4000-8000-000000000001'), users('entryUUID')), '5a1e0000-0000-4000-8000-000000000001');
  assert.deepEqual(idSearchValues('not-a-uuid', users('entryUUID')), []);
  assert.deepEqual(idSearchValues('alice@example.org', users('mail')), ['alice@example.org']);
  const bytes = Buffer.from([0xff, 0xfe, 0x01]);
  const id = entryId(entry('employeeNumber', bytes), users('employeeNumber'));
  assert.equal(id, '__4B');
  assert.deepEqual(idSearchValues(id!, users('employeeNumber')), ['__4B', bytes]);
});

test('users.binaryAttributes: such an attribute is released as base64 even when its bytes read as text, and asked for as bytes', () => {
  const { users } = ldapDirectorySchema.parse({ kind: 'ldap', urls: ['ldap://dc1'], bind: { dn: 'cn=svc', password: 'x' }, users: { baseDn: 'dc=x', binaryAttributes: ['badgeData'] } });
  const user = userFromEntry({ dn: 'uid=x,dc=x', entryUUID: '5a1e0000-0000-4000-8000-000000000001', uid: 'x', badgeData: 'AB', jpegPhoto: 'GIF89a' }, { names: [], dns: [] }, users, []);
  assert.deepEqual(user.attributes['badgedata'], ['QUI=']);
  assert.deepEqual(user.attributes['jpegphoto'], [Buffer.from('GIF89a').toString('base64')]);
  assert.deepEqual(user.attributes['uid'], ['x']);
  const asked = explicitBufferAttributes(users);
  for (const name of ['badgeData', 'badgedata', 'jpegPhoto', 'objectGUID', 'objectSid', 'thumbnailPhoto', 'userCertificate']) assert.ok(asked.includes(name), name);
});
