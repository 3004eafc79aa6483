/**
 * The form of a local password that is hashed and checked: NFKC, so that a password typed on another
 * keyboard or system (é as one character or as e and an accent, the fullwidth letters of an East Asian
 * input method) is the same password. The password rules judge this form too: it is the credential
 * actually kept. A module of its own, as the rules are read where no password is hashed.
 */
export function storedPasswordForm(password: string): string {
  return password.normalize('NFKC');
}
