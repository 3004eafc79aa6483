/**
 * Every spelling that can reach one account shares a bucket: DOMAIN\alice, alice@corp, ALICE, the
 * fullwidth ａｌｉｃｅ (compatibility forms, NFKD; LDAP's caseIgnoreMatch folds these, RFC 4518),
 * characters LDAP matching ignores (soft hyphen, zero-width), case folding beyond lower case (lower,
 * upper, lower again maps ß and ẞ to ss), and every combining mark, since directories differ in how
 * they fold accents and dotted letters (slapd takes ALİCE for alice). Merging more spellings than the
 * directory does only makes a lock stricter: jörg and jorg share one.
 *
 * The name is the part before the first `@`, less everything up to its last `\`. The LDAP directory
 * (normaliseLogin) strips one `DOMAIN\` with no `@` in DOMAIN, then cuts at the last `@`: every login
 * it reduces to one name has this bucket, so a spelling with more after the `@` (alice@x\1) is no new
 * name. A backslash after the `@` is part of the suffix, as it is to the directory.
 */
export function loginBucket(login: string): string {
  const folded = login.normalize('NFKD').toLowerCase().toUpperCase().toLowerCase().normalize('NFKD');
  const name = folded
    .replace(/[\p{M}\p{Default_Ignorable_Code_Point}]/gu, '')
    .replace(/\s+/gu, ' ')
    .replace(/@.*$/su, '');
  return name.slice(name.lastIndexOf('\\') + 1).trim();
}
