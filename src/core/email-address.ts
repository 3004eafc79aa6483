import { hasInvisibleCharacter } from './invisible-characters.ts';

/** The longest address SMTP can carry (RFC 5321 §4.5.3.1.3: a path of 256 octets, less its angle brackets). */
const MAX_EMAIL_LENGTH = 254;

/**
 * Whether a value has the shape of an email address: one "@" between a non-empty local part and
 * domain, no whitespace and no invisible character (invisible-characters.ts), at most 254 characters. A directory's
 * mail is released as an address only in this shape (OIDC Core §5.1 and saml-core §8.3.2 require an
 * RFC 5322 addr-spec), and local users' addresses are given it (local-user-admin.ts). Spaces around it, which an application
 * would trim, or a zero-width space in it, which it would not see, could make it another user's
 * address. Deliberately not a full addr-spec parser: a quoted local part with a space or an "@" is
 * refused too. Control characters are judged as in every other value (isReleasableValue).
 */
export function isPlausibleEmail(value: string): boolean {
  const at = value.indexOf('@');
  return value.length <= MAX_EMAIL_LENGTH && !/\s/u.test(value) && !hasInvisibleCharacter(value) && at > 0 && at === value.lastIndexOf('@') && at < value.length - 1;
}
