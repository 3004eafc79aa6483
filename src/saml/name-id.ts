import type { User } from '../core/types.ts';
import type { SecretBox } from '../core/secret-box.ts';
import { randomId } from '../core/ids.ts';
import { NAMEID_FORMAT, type NameIdFormatName } from './constants.ts';
import type { ServiceProviderRecord } from './sp-types.ts';
import type { RequestedSubject } from './authn-request.ts';
import { valuesOf } from '../rp/claims.ts';

const NAMES = Object.keys(NAMEID_FORMAT) as NameIdFormatName[];

/**
 * The NameID format to answer with, or undefined when the request's NameIDPolicy cannot be honoured
 * (answered with InvalidNameIDPolicy). "unspecified" or no policy leaves the choice to the SP's setting.
 * AllowCreate needs no handling: persistent identifiers are derived, never stored.
 */
export function chooseNameIdFormat(policy: { format?: string; spNameQualifier?: string }, sp: ServiceProviderRecord): NameIdFormatName | undefined {
  if (policy.spNameQualifier !== undefined && policy.spNameQualifier !== sp.id) return undefined; // affiliations are not supported
  if (policy.format === undefined || policy.format === NAMEID_FORMAT.unspecified) return sp.settings.nameIdFormat;
  return NAMES.find((name) => NAMEID_FORMAT[name] === policy.format);
}

/**
 * The NameID value for a user at an SP; undefined when the user has no value for that format.
 * - persistent: a keyed MAC of SP and user id: stable per pair, differs between SPs, reveals nothing.
 * - transient: random per response.
 * - email: only a value shaped like an address, as the mail attribute and the email claim (rp/claims.ts);
 *   characters XML cannot carry are judged for every format where the NameID is sent (sso-finish.ts).
 */
export function nameIdValue(format: NameIdFormatName, user: User, sp: ServiceProviderRecord, box: SecretBox): string | undefined {
  switch (format) {
    case 'persistent':
      return box.mac('saml-persistent-nameid', `${sp.id}\0${user.id}`);
    case 'transient':
      return `_${randomId(20)}`;
    case 'email':
      return valuesOf(user, 'email')[0];
    case 'unspecified':
      return user.username;
  }
}

/**
 * Whether the user is the subject an AuthnRequest named (saml-core §3.4.1.4: the assertion's subject
 * must strongly match it): the same value in the named format (an email or username in any case). A subject
 * named otherwise than by a NameID, or in a format with no stable value (transient), never matches.
 */
export function isRequestedSubject(subject: RequestedSubject, user: User, sp: ServiceProviderRecord, box: SecretBox): boolean {
  const format = subject.format === undefined ? 'unspecified' : NAMES.find((name) => NAMEID_FORMAT[name] === subject.format);
  const named = subject.nameId;
  if (named === undefined || format === undefined || format === 'transient') return false;
  // Emails and usernames are signed in with in any case, so they name the user in any case. An
  // unspecified value pre-fills the sign-in form (sso-start.ts), which takes the username or the email
  // address: SPs send either there, and the user it signs in is the one it names.
  // Composed first, as the sign-in form's name is (local-users.ts): a subject whose ü is u and a
  // combining diaeresis signs the user in by that form, and must then name them too.
  const nameKey = (value: string) => value.normalize('NFC').toLowerCase().normalize('NFC');
  const sameName = (value: string) => nameKey(value) === nameKey(named);
  if (format === 'unspecified') return sameName(user.username) || valuesOf(user, 'email').some(sameName);
  const value = nameIdValue(format, user, sp, box);
  if (value === undefined) return false;
  return format === 'email' ? sameName(value) : value === named;
}

/** A persistent NameID is scoped by both entities (saml-core §8.3.7); a LogoutRequest names it the same way. */
export function persistentQualifiers(idpEntityId: string, spId: string): { nameQualifier: string; spNameQualifier: string } {
  return { nameQualifier: idpEntityId, spNameQualifier: spId };
}
