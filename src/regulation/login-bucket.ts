/**
 * Every spelling that can reach one account shares a bucket: DOMAIN\alice, alice@corp, ALICE, the
 * fullwidth ａｌｉｃｅ (compatibility forms, NFKD; LDAP's caseIgnoreMatch folds these, RFC 4518),
 * characters LDAP matching ignores (soft hyphen, zero-width), case folding beyond lower case (lower,
 * upper, lower again maps ß and ẞ to ss), and every combining mark, since directories differ in how
 * they fold accents and dotted letters (slapd takes ALİCE for alice). Merging more spellings than the
 * directory does only makes a lock stricter: jörg and jorg share one.
 */
export function loginBucket(login: string): string {
  const folded = login.normalize('NFKD').toLowerCase().toUpperCase().toLowerCase().normalize('NFKD');
  return folded
    .replace(/[\p{M}\p{Default_Ignorable_Code_Point}]/gu, '')
    .replace(/\s+/gu, ' ')
    .trim()
    .replace(/^[^\\]*\\/u, '')
    .replace(/@.*$/su, '');
}
