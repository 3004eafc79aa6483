/** A group's name, from its entry or from its DN alone, as Stepgate uses it everywhere. */
import type { Entry } from 'ldapts';
import { directoryValueKey, parsedDn, type AttributeValue } from '../core/distinguished-names.ts';
import { asciiLowerCase, foldCase, withLdapSignificantSpaces, withSignificantSpaces } from '../core/fold-case.ts';
import { entryValues } from './ldap-filter.ts';

/**
 * A group's name in its DN, e.g. "Admins" for "CN=Admins,OU=Groups,DC=corp" (AD memberOf values): the
 * first RDN's value of `nameAttribute`, or else its first value (a multi-valued RDN, cn=x+ou=y).
 */
export function rdnValue(dn: string, nameAttribute?: string): string {
  const avas = firstRdn(dn);
  const named = nameAttribute === undefined ? undefined : avas.find((ava) => asciiLowerCase(ava.type) === asciiLowerCase(nameAttribute));
  return (named ?? avas[0])?.value ?? dn.trim();
}

/**
 * A group's name as Stepgate uses it everywhere (policies, SAML isMemberOf, OIDC groups), from its
 * entry: when the RDN is `nameAttribute`, the attribute's value that is the RDN's (unique among the
 * group's siblings, what admins see, and what a memberOf value names it by; a multi-valued cn lists
 * its values in any order), spelled as the attribute spells it; else the attribute's first value.
 * `fromDn`: no value could be used (none the service account reads is the RDN's, or there is none),
 * and the name is the DN's. Without the spaces every directory leaves out (cn `contractors ` is its
 * `contractors`): a rule naming the group must match it, and memberOf mode must name it the same. Only
 * U+0020s: `admin` followed by a tab or an ideographic space is another group to slapd, which a permit
 * rule for `admin` must not take in.
 */
export function groupNaming(entry: Entry, nameAttribute: string): { name: string; values: string[]; fromDn: boolean } {
  const values = entryValues(entry, nameAttribute);
  const rdnNamed = firstRdn(entry.dn).find((ava) => asciiLowerCase(ava.type) === asciiLowerCase(nameAttribute));
  const spelled = rdnNamed === undefined ? values[0] : rdnSpelling(rdnNamed.value, values, nameAttribute);
  return { name: withLdapSignificantSpaces(spelled ?? rdnValue(entry.dn, nameAttribute)), values, fromDn: spelled === undefined };
}

/**
 * The value of the name attribute that is the RDN's, spelled as the attribute spells it: the RDN may
 * spell it in another case or spacing (the server matches them alike), and relying parties map names
 * case-sensitively and knew the attribute's. The same text first, then the same to every directory
 * (ASCII case, spaces: of a cn holding straße and STRAẞE, two values to slapd, the entry cn=STRAẞE is
 * STRAẞE), then the one value alike but for the case of other letters (cn=ÉLITE with cn: élite is
 * élite, as before). Undefined: none is, and the name is
 * the DN's, which directory test points out.
 */
function rdnSpelling(rdn: string, values: readonly string[], type: string): string | undefined {
  const exact = values.find((value) => value === rdn);
  if (exact !== undefined) return exact;
  const key = directoryValueKey(type, rdn);
  const alike = values.find((value) => directoryValueKey(type, value) === key);
  if (alike !== undefined) return alike;
  const named = (value: string) => foldCase(withSignificantSpaces(value));
  const folded = values.filter((value) => named(value) === named(rdn));
  return folded.length === 1 ? folded[0] : undefined;
}

/**
 * A group's name from its DN alone (a memberOf value, no entry read): the RDN's spelling, which is the
 * entry's name unless its attribute value is spelled in another case or spacing.
 */
export function dnGroupName(dn: string, nameAttribute: string): string {
  return withLdapSignificantSpaces(rdnValue(dn, nameAttribute));
}

/** The attribute types and values of a DN's first RDN (parsedDn); none when it is not a DN. */
function firstRdn(dn: string): AttributeValue[] {
  return parsedDn(dn)?.[0] ?? [];
}
