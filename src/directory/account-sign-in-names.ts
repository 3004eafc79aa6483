import type { User } from '../core/types.ts';
import type { Config } from '../config/schema.ts';

/**
 * An attribute users.filter compares with the login as a whole: uid in "(uid=<username>)", and
 * sAMAccountName and userPrincipalName in "(|(sAMAccountName=<username>)(userPrincipalName=<username>))".
 * A substring match ("(cn=*<username>*)") names no value a user types whole, so it is left out.
 */
const FILTERED_ATTRIBUTE = /\(([A-Za-z][A-Za-z0-9-]*)(?:;[A-Za-z0-9-]+)*~?=<username>\)/gu;

/**
 * The names an account signs in with, as the configured directory finds it by them: a local user's
 * username and email; an LDAP entry's values of the attributes users.filter compares with the login,
 * of users.usernameAttribute and of users.alternateLoginAttributes. Each name typed at a sign-in has a
 * count of its own, so an admin unlock of the account clears all of them: clearing only the name the
 * helpdesk typed left the user locked out under the email they sign in with.
 */
export function accountSignInNames(user: User, directory: Config['directory']): string[] {
  if (directory.kind === 'local') return [user.username, ...(user.email === undefined ? [] : [user.email])];
  const { filter, usernameAttribute, alternateLoginAttributes } = directory.users;
  const attributes = [usernameAttribute, ...[...filter.matchAll(FILTERED_ATTRIBUTE)].map((match) => match[1]!), ...alternateLoginAttributes];
  const values = attributes.flatMap((attribute) => user.attributes[attribute.toLowerCase()] ?? []);
  return [...new Set([user.username, ...values].filter((name) => name !== ''))];
}
