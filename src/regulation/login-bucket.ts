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
 *
 * The cut does not depend on the directory's settings: where the suffix is kept (LDAP with
 * stripUpnSuffix false, local emails), alice@example.org and alice@other.org are two people sharing
 * one bucket, as jörg and jorg are. That is the stricter side again: a name's count is asked before
 * any directory is, and holds every login some configuration reduces to that name. It costs little:
 * the bucket's lock refuses only browsers without the account's familiar-device cookie, and each
 * account's own count, the one that stops guesses under all of its names, stays its own.
 */
export function loginBucket(login: string): string {
  const folded = login.normalize('NFKD').toLowerCase().toUpperCase().toLowerCase().normalize('NFKD');
  const name = folded
    .replace(/[\p{M}\p{Default_Ignorable_Code_Point}]/gu, '')
    .replace(/\s+/gu, ' ')
    .replace(/@.*$/su, '');
  return name.slice(name.lastIndexOf('\\') + 1).trim();
}
