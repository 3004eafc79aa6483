/**
 * Case folding for names and values compared without case: compatibility forms as their plain letters
 * (NFKC: the Kelvin sign is K, fullwidth ａ is a), full case folding (lower, upper, lower again: ß and
 * ẞ are ss), and the Turkish dotted İ and dotless ı as i, since ADMİN is how a Turkish locale writes
 * admin in capitals. Accents stay: é is not e.
 */
export function foldCase(text: string): string {
  return caseFolded(text.normalize('NFKC')).replaceAll('i\u0307', 'i').normalize('NFC');
}

/**
 * Case folding as every LDAP server folds a caseIgnore string: ASCII letters only. Servers fold other
 * letters by Unicode tables of their own, older than JavaScript's and unlike each other's: slapd 2.5
 * keeps ẞ and ß, Cherokee Ꭰ and ꭰ, Georgian Ა and ა apart, which toLowerCase folds, and folds
 * fullwidth Ａ as a, which toLowerCase does not. Which entry a DN names is decided with this: folding
 * more than the server would take one entry for another, while folding less only costs a question to
 * the server. A letter before a combining mark is kept: slapd 2.5 folds each character before it
 * composes (I + U+0307 is i + U+0307 to it, as RFC 4518 orders its steps), but the two may be one
 * letter to a server that composes first (İ), whose folding servers do not share.
 */
export function foldCaseAsLdap(text: string): string {
  return text.replace(/[A-Z](?!\p{M})/gu, (letter) => letter.toLowerCase());
}

/**
 * A directory string without the spaces every LDAP server's string matching leaves out (RFC 4518's
 * insignificant spaces): U+0020s before and after it, and each run inside it but one. Only U+0020:
 * slapd keeps a tab and a space apart, and maps the other spaces (no-break, ideographic) by tables of
 * its own; for deciding which entry a DN names, as foldCaseAsLdap. Spaces before a combining mark are
 * kept: a space and a mark are one character to NFKC (´).
 */
export function withLdapSignificantSpaces(text: string): string {
  return text.replace(/ +(?![ \p{M}])/gu, (run: string, at: number) => (at === 0 || at + run.length === text.length ? '' : ' '));
}

/** A caseIgnore string as every LDAP server compares it: ASCII case and RFC 4518's insignificant spaces do not count. */
export function asEveryLdapServerCompares(text: string): string {
  return withLdapSignificantSpaces(foldCaseAsLdap(text));
}

/** Attribute type names are ASCII, and compared without case; toLowerCase would take the Kelvin sign for k. */
export function asciiLowerCase(text: string): string {
  return text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

/**
 * Full case folding: lower, upper, lower again, so that ß and ẞ are ss; and ς is σ, as case folding
 * has it. toLowerCase writes Σ as ς at a word's end (Final_Sigma): a pattern's `ΚΩΣ*` would be `κως*`,
 * which `ΚΩΣΤΑΣ` (κωστας) does not start with, while slapd lowers every Σ to σ.
 */
function caseFolded(text: string): string {
  return text.toLowerCase().toUpperCase().toLowerCase().replaceAll('ς', 'σ');
}

/**
 * A directory string value with the spaces LDAP's string matching (RFC 4518's insignificant space
 * handling, caseIgnoreMatch) does not count taken out: none before or after it, one for each run
 * inside it. `contractors ` and `Sales  EMEA` are `contractors` and `Sales EMEA` to the directory.
 * Any white space counts, more than a directory's: for names, which are better matched too broadly
 * than missed by a rule; not for telling entries apart (withLdapSignificantSpaces).
 */
export function withSignificantSpaces(value: string): string {
  return value.replace(/\s+/gu, ' ').trim();
}
