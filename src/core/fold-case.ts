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
 * Case folding as slapd matches strings: each character to its one-character lower case, then NFKC.
 * Nothing that takes one character to several or to another letter (ß stays ß, not ss; final ς stays
 * ς; the dotless ı and dotted İ stay letters of their own), so `cn=admın` and `cn=straße` are not
 * `cn=admin` and `cn=strasse`. For deciding which entry a DN names, where folding more than the server
 * would take one entry for another; folding less is safe (an unmatched value is asked about).
 */
export function foldCaseAsLdap(text: string): string {
  let lowered = '';
  for (const char of text) {
    const lower = char.toLowerCase();
    lowered += lower.length === char.length ? lower : char;
  }
  return lowered.normalize('NFKC');
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
