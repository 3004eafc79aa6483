/**
 * Active Directory's primary group (primaryGroupID: "Domain Users" unless changed). AD lists nobody in
 * it through member or memberOf (MS-ADA3 2.120, MS-ADA2 2.43), so neither the in-chain search nor the
 * memberOf values find it, nor the groups it is nested in: a rule permitting it refused everyone, and
 * one denying a group made someone's primary group admitted them. It is found by its SID instead.
 */
import type { Entry } from 'ldapts';
import { attributeValues, entryValue } from './ldap-filter.ts';

/** What a user search must read for primaryGroupSid. */
export const PRIMARY_GROUP_ATTRIBUTES = ['objectSid', 'primaryGroupID'];

/**
 * The SID of the entry's primary group: the entry's objectSid (MS-DTYP 2.4.2.2) with its last
 * sub-authority, the RID, replaced by primaryGroupID; the group is in the user's domain. Undefined
 * without both (any directory but AD) or when they are not what AD writes.
 */
export function primaryGroupSid(entry: Entry): Buffer | undefined {
  const [objectSid] = attributeValues(entry, 'objectSid');
  const primaryGroupId = entryValue(entry, 'primaryGroupID');
  if (!Buffer.isBuffer(objectSid) || primaryGroupId === undefined || !/^\d{1,10}$/.test(primaryGroupId)) return undefined;
  const rid = Number(primaryGroupId);
  const subAuthorities = objectSid[1] ?? 0;
  if (rid > 0xffffffff || objectSid[0] !== 1 || subAuthorities === 0 || objectSid.length !== 8 + 4 * subAuthorities) return undefined;
  const sid = Buffer.from(objectSid);
  sid.writeUInt32LE(rid, sid.length - 4);
  return sid;
}
