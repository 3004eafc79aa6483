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
 * Case folding as LDAP's string matching does it (RFC 4518 caseIgnoreMatch: NFKC and Unicode case
 * folding, without the Turkish mappings): the dotless ı and dotted İ are letters of their own, so
 * `cn=admın` is not `cn=admin` to the directory. For deciding which entry a DN names, where folding
 * more than the server would take one entry for another.
 */
export function foldCaseAsLdap(text: string): string {
  // ı is lowercase already and case folding keeps it; the round trip of caseFolded would make it I, then i.
  return text.normalize('NFKC').split('\u0131').map(caseFolded).join('\u0131').normalize('NFC');
}

/** Full case folding: lower, upper, lower again, so that ß and ẞ are ss and ς is σ. */
function caseFolded(text: string): string {
  return text.toLowerCase().toUpperCase().toLowerCase();
}

/**
 * A directory string value with the spaces LDAP's string matching (RFC 4518's insignificant space
 * handling, caseIgnoreMatch) does not count taken out: none before or after it, one for each run
 * inside it. `contractors ` and `Sales  EMEA` are `contractors` and `Sales EMEA` to the directory.
 */
export function withSignificantSpaces(value: string): string {
  return value.replace(/\s+/gu, ' ').trim();
}
