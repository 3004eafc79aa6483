/**
 * Case folding for names and values compared without case: compatibility forms as their plain letters
 * (NFKC: the Kelvin sign is K, fullwidth ａ is a), full case folding (lower, upper, lower again: ß and
 * ẞ are ss), and the Turkish dotted İ and dotless ı as i, since ADMİN is how a Turkish locale writes
 * admin in capitals. Accents stay: é is not e.
 */
export function foldCase(text: string): string {
  return text.normalize('NFKC').toLowerCase().toUpperCase().toLowerCase().replaceAll('i\u0307', 'i').normalize('NFC');
}

/**
 * A directory string value with the spaces LDAP's string matching (RFC 4518's insignificant space
 * handling, caseIgnoreMatch) does not count taken out: none before or after it, one for each run
 * inside it. `contractors ` and `Sales  EMEA` are `contractors` and `Sales EMEA` to the directory.
 */
export function withSignificantSpaces(value: string): string {
  return value.replace(/\s+/gu, ' ').trim();
}
