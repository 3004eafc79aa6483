/**
 * What a local user's username, email, display name and groups may hold, and which sign-in names two
 * users may not share: the rules of `user add` / `user update` and of config import.
 */
import { signInNames, type LocalUserRecord } from './local-users.ts';
import { isPlausibleEmail } from '../core/email-address.ts';
import { INVISIBLE_CHARACTER } from '../core/invisible-characters.ts';

const USERNAME = /^[A-Za-z0-9._@-]{1,64}$/;

/** Why a name cannot be a local username, or undefined when it can. */
export function usernameProblem(username: string): string | undefined {
  return USERNAME.test(username) ? undefined : 'username may contain letters, digits and . _ @ - (at most 64 characters)';
}

/** Embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they show text in another order than it is stored. */
const TEXT_DIRECTION_CONTROL = /[\u202A-\u202E\u2066-\u2069]/gu;

/**
 * `text` with its format and control characters written as \uXXXX escapes, so that what is invisible,
 * or reorders the text, shows. Line breaks stay, so that the layout of JSON survives (JSON itself
 * escapes those in its strings), and the escapes are JSON's: JSON stays valid.
 */
export function withInvisibleShown(text: string): string {
  const escaped = (unit: string) => `\\u${unit.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  return text.replace(/(?!\n)[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]/gu, (character) => character.split('').map(escaped).join(''));
}

/** The code points of `text` that `characters` matches, as "U+200B, U+202E"; empty when there are none. */
function codePointsOf(text: string, characters: RegExp): string {
  return [...new Set(text.match(characters))].map((character) => `U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join(', ');
}

/**
 * Control characters cannot travel in SAML (XML 1.0) and are invisible on screen, as are format
 * characters: two such addresses would look like one. Called with the address in NFC, as it is stored.
 */
export function emailProblem(email: string): string | undefined {
  const invisible = codePointsOf(email, INVISIBLE_CHARACTER);
  if (invisible) return `the email address "${withInvisibleShown(email)}" contains ${invisible}: invisible or text-direction characters are not allowed, as the address would look like another one`;
  return isPlausibleEmail(email) && !/\p{Cc}/u.test(email) ? undefined : `not an email address: ${JSON.stringify(email)}`;
}

/**
 * A display name is free text, but not control characters (see emailProblem), nor characters that
 * change the direction of the text: shown next to other text, the name would seem to be another.
 * Other format characters stay: joiners belong in emoji and in Persian or Indic names.
 */
export function nameProblem(name: string): string | undefined {
  if (/\p{Cc}/u.test(name)) return `the name must not contain control characters: ${JSON.stringify(name)}`;
  const reordering = codePointsOf(name, TEXT_DIRECTION_CONTROL);
  return reordering ? `the name "${withInvisibleShown(name)}" contains ${reordering}: characters that change the direction of the text are not allowed in a name` : undefined;
}

/** A group name in quotes, as JSON writes it, with what is invisible shown: a line break or a quote in it cannot pass for the end of it. */
export function quotedGroup(group: string): string {
  return withInvisibleShown(JSON.stringify(group));
}

/**
 * What a group name may not hold: control characters, and format and other default-ignorable
 * characters, which show nothing or reorder the text, so "contr\u200Bactors" would escape a deny rule
 * for contractors; and the Braille blank U+2800, which shows as a space yet is neither of those nor
 * white space (which trim() would take off the ends): "contractors\u2800" looks like contractors. A
 * joiner (ZWNJ U+200C, ZWJ U+200D) between two non-ASCII characters stays, as it does in display
 * names: Persian and Indic words and emoji sequences need it there, and directory groups hold such
 * names. Beside an ASCII character, or at either end, it only hides.
 */
const NOT_IN_GROUP_NAME = /\p{Cc}|\u2800|(?![\u200C\u200D])[\p{Cf}\p{Default_Ignorable_Code_Point}]|(?<![^\0-\x7F])[\u200C\u200D]|[\u200C\u200D](?![^\0-\x7F])/gu;

/**
 * Why a group cannot be given to a user, or undefined when it can. Only groups being added are
 * checked: one an earlier version stored can still be removed.
 */
export function groupProblem(group: string): string | undefined {
  const refused = codePointsOf(group, NOT_IN_GROUP_NAME);
  return refused ? `the group ${quotedGroup(group)} contains ${refused}: control, invisible and text-direction characters are not allowed in a group name, as a policy rule naming the group would not match it (a joiner, U+200C or U+200D, may stand between two non-ASCII characters, as Persian, Indic scripts and emoji need)` : undefined;
}

/**
 * A sign-in name (username or email, lowercased) that several users would have. `lookalike`: their
 * names differ, and are one only in compatibility form (ａlice@example.org beside alice@example.org):
 * each signs in its own user, but reads as the other's, to a person and to the locks and policies.
 */
export interface SharedSignInName {
  name: string;
  users: LocalUserRecord[];
  lookalike: boolean;
}

/**
 * A sign-in name in compatibility form, case folded: fullwidth and other compatibility letters as
 * their plain ones, as Stepgate's lock buckets and policy patterns read names and as an application
 * that normalises addresses (NFKC, PRECIS) would. Accents stay: josé and jose are two addresses.
 */
const lookalikeKey = (name: string) => name.normalize('NFKC').toLowerCase().normalize('NFKC');

/**
 * Sign-in names (usernames and emails, in any case, in compatibility form) that two of `users` would
 * share: sign-in would pick one of them silently, or take one for the other, and their SAML email
 * NameIDs would look alike. Only names shared by a user in `involving` are reported. The one rule of
 * user add / user update and of config import.
 */
export function sharedSignInNames(users: readonly LocalUserRecord[], involving: ReadonlySet<string>): SharedSignInName[] {
  const owners = new Map<string, Array<{ user: LocalUserRecord; name: string }>>();
  for (const user of users) {
    const names = new Map<string, string>();
    for (const name of signInNames(user)) if (name !== undefined && !names.has(lookalikeKey(name))) names.set(lookalikeKey(name), name);
    for (const [key, name] of names) owners.set(key, [...(owners.get(key) ?? []), { user, name }]);
  }
  return [...owners.entries()]
    .filter(([, sharing]) => sharing.length > 1 && sharing.some(({ user }) => involving.has(user.id)))
    .map(([key, sharing]) => {
      const spellings = new Set(sharing.map(({ name }) => name));
      return { name: spellings.size === 1 ? sharing[0]!.name : key, users: sharing.map(({ user }) => user), lookalike: spellings.size > 1 };
    });
}
