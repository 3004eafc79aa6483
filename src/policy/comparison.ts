/**
 * How widely a rule's names and patterns take in the user's. `narrow`: only when they are equal both to
 * every LDAP server (ASCII case, RFC 4518's U+0020 spaces) and as foldCase compares (a pattern also as
 * slapd folds: AS_SLAPD); `broad`: when either says so. A directory may keep apart what foldCase joins
 * (slapd 2.5 keeps `admın` and `admin`, `straße` and `strasse` apart; it takes `ADMİN` and `ａdmin` for
 * `admin`, other servers may not), and users may be able to create groups (self-service groups in AD, a
 * delegated OU): where a match lets a user in or asks less of them, a look-alike must not count
 * (narrow); where it refuses or asks more, it must (broad), or a deny rule fails open for
 * `ＣＯＮＴＲＡＣＴＯＲＳ`. Both ways agreeing for narrow and either one for broad, whatever matches narrowly
 * matches broadly. Which a condition uses: conditionsHold.
 */
export type Comparison = 'narrow' | 'broad';

export function opposite(comparison: Comparison): Comparison {
  return comparison === 'narrow' ? 'broad' : 'narrow';
}
