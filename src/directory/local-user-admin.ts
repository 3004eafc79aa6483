import { randomUUID } from 'node:crypto';
import type { Store } from '../store/store.ts';
import type { Clock } from '../core/clock.ts';
import type { Config } from '../config/schema.ts';
import { LocalDirectory, PasswordChangedMeanwhile, type PreparedPassword } from './local-directory.ts';
import { findLocalUserByName, localUsers, signInNames, type LocalUserRecord } from './local-users.ts';
import { isPlausibleEmail } from '../core/email-address.ts';
import { FamiliarDeviceRegister } from '../regulation/familiar-device-register.ts';
import { INVISIBLE_CHARACTER } from '../core/invisible-characters.ts';
import { asEveryLdapServerCompares } from '../core/fold-case.ts';

export interface UserChanges {
  name?: string;
  email?: string;
  addGroups?: string[];
  removeGroups?: string[];
  attributes?: Record<string, string[]>;
  disabled?: boolean;
  mustChangePassword?: boolean;
  oneTimeUse?: boolean;
  expiresAt?: number | null;
}

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

/** One group to a directory, and so to a policy: ASCII case and the spaces RFC 4518 leaves out do not count. */
function sameGroupName(a: string, b: string): boolean {
  return asEveryLdapServerCompares(a) === asEveryLdapServerCompares(b);
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

/** A change the local directory refuses (a name taken, a password the rules refuse): the admin's answer, not a failure. */
export class UserChangeRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserChangeRefused';
  }
}

export interface NewPassword {
  password: string;
  mustChange: boolean;
}

/** Admin operations on the local directory, shared by the CLI and (later) the admin console. */
export class LocalUserAdmin {
  readonly #store: Store;
  readonly #directory: LocalDirectory;
  readonly #clock: Clock;
  /** A password set here ends the familiarity of the browsers that proved only the previous one. */
  readonly #devices: FamiliarDeviceRegister;

  constructor(store: Store, config: Config, clock: Clock) {
    if (config.directory.kind !== 'local') throw new Error('the configured directory is LDAP; local users are managed in the local store only');
    this.#store = store;
    this.#clock = clock;
    this.#directory = new LocalDirectory(localUsers(store), config.directory, clock);
    this.#devices = new FamiliarDeviceRegister(store.kv);
  }

  /**
   * Everything is checked before the one write, the password against the rules included: a refused
   * add leaves no user behind, so the same command can simply be run again.
   */
  async add(username: string, changes: UserChanges, password?: NewPassword): Promise<LocalUserRecord> {
    const problem = usernameProblem(username);
    if (problem) throw new UserChangeRefused(problem);
    if (await findLocalUserByName(localUsers(this.#store), username)) throw new UserChangeRefused(`user ${username} already exists`);
    const record = this.#changed(this.#newRecord(username), changes);
    await this.#refuseSharedSignInNames(record);
    const added = password ? (await this.#prepared(record, password)).applyTo(record) : record;
    await localUsers(this.#store).put(added);
    return added;
  }

  #newRecord(username: string): LocalUserRecord {
    return {
      id: randomUUID(),
      username,
      groups: [],
      attributes: {},
      previousPasswordHashes: [],
      mustChangePassword: false,
      disabled: false,
      oneTimeUse: false,
      createdAt: this.#clock.now(),
    };
  }

  /**
   * Checked as add checks, the password included, before the one write: a refused update changes nothing.
   * The write changes the user as stored then, not as read before the password's scrypt work: what the
   * server did meanwhile (a one-time account used up) or another command changed stays.
   */
  async update(username: string, changes: UserChanges, password?: NewPassword): Promise<LocalUserRecord> {
    const record = this.#changed(await this.get(username), changes);
    // Only a new email can make a name shared; an older clash stays editable.
    if (changes.email !== undefined) await this.#refuseSharedSignInNames(record);
    const prepared = password && (await this.#prepared(record, password));
    let updated: LocalUserRecord | undefined;
    try {
      await localUsers(this.#store).update(record.id, (current) => {
        const changed = this.#changed(current, changes);
        updated = prepared ? prepared.applyTo(changed) : changed;
        return updated;
      });
    } catch (error) {
      if (!(error instanceof PasswordChangedMeanwhile)) throw error;
      throw new UserChangeRefused(`the password of ${username} was changed while this command ran (by the user, or another command): nothing was changed; run it again`);
    }
    if (!updated) throw new Error(`no local user ${username}`);
    if (prepared) await this.#devices.forget(record.id);
    return updated;
  }

  async get(username: string): Promise<LocalUserRecord> {
    const record = await findLocalUserByName(localUsers(this.#store), username);
    if (!record) throw new Error(`no local user ${username}`);
    return record;
  }

  list(): Promise<LocalUserRecord[]> {
    return localUsers(this.#store).list();
  }

  /**
   * Sign-in names several users share, each with its users, the one that signing in with it reaches
   * first. Only an older version stored such users: it took "é" as one character and as "e" and an
   * accent for two names.
   */
  async sharedNames(): Promise<Array<Omit<SharedSignInName, 'lookalike'>>> {
    const users = await this.list();
    // Lookalikes an older version let in each sign in their own user: no name of theirs reaches another.
    const shared = sharedSignInNames(users, new Set(users.map((user) => user.id))).filter(({ lookalike }) => !lookalike);
    return Promise.all(shared.map(async ({ name, users: sharing }) => {
      const reached = await this.get(name);
      return { name, users: [reached, ...sharing.filter((user) => user.id !== reached.id)] };
    }));
  }

  async remove(username: string): Promise<void> {
    await localUsers(this.#store).remove((await this.get(username)).id);
  }

  /** Sets a password under the same rules users get; returns the rule violations, if any. */
  async setPassword(username: string, password: string, options: { mustChange?: boolean } = {}): Promise<string | undefined> {
    const record = await this.get(username);
    const outcome = await this.#directory.setPassword(record, password, options);
    if (!outcome.ok) return outcome.message;
    await this.#devices.forget(record.id);
    return undefined;
  }

  async #prepared(record: LocalUserRecord, password: NewPassword): Promise<PreparedPassword & { ok: true }> {
    const prepared = await this.#directory.prepareNewPassword(record, password.password, { mustChange: password.mustChange });
    if (!prepared.ok) throw new UserChangeRefused(`Password refused: ${prepared.message}`);
    return prepared;
  }

  async #refuseSharedSignInNames(record: LocalUserRecord): Promise<void> {
    const others = (await localUsers(this.#store).list()).filter((user) => user.id !== record.id);
    const shared = sharedSignInNames([...others, record], new Set([record.id]));
    if (shared.length === 0) return;
    const owners = (names: SharedSignInName) => names.users.filter((user) => user.id !== record.id).map((user) => user.username).join(' and ');
    throw new UserChangeRefused(shared.map((names) => `"${names.name}" is already the username or email of ${owners(names)} (sign-in names are compared in any case, and in any Unicode form: é as one character or as e and an accent, fullwidth and other compatibility letters as their plain ones)`).join('; '));
  }

  #changed(record: LocalUserRecord, changes: UserChanges): LocalUserRecord {
    const email = changes.email?.normalize('NFC');
    const problem = (email === undefined ? undefined : emailProblem(email)) ?? (changes.name === undefined ? undefined : nameProblem(changes.name));
    if (problem) throw new UserChangeRefused(problem);
    const groupProblems = (changes.addGroups ?? []).map(groupProblem).filter((found) => found !== undefined);
    if (groupProblems.length) throw new UserChangeRefused(groupProblems.join('; '));
    // Which would win depends on an order the admin cannot see in the command, so neither does.
    const addedAndRemoved = (changes.addGroups ?? []).filter((added) => (changes.removeGroups ?? []).some((removed) => sameGroupName(added, removed)));
    if (addedAndRemoved.length) throw new UserChangeRefused(`${addedAndRemoved.map(quotedGroup).join(', ')}: both given and removed in one change (--group and --remove-group): say which; nothing was changed`);
    const groups = new Set(record.groups);
    for (const group of changes.addGroups ?? []) groups.add(group);
    for (const removed of changes.removeGroups ?? []) {
      // As policies compare group names: `--remove-group admins` taking nothing from a member of
      // `Admins` would leave the access it was typed to take away.
      const same = [...groups].filter((group) => sameGroupName(group, removed));
      if (same.length === 0) throw new UserChangeRefused(`${record.username} is not in group ${quotedGroup(removed)} (their groups: ${record.groups.length === 0 ? 'none' : record.groups.map(quotedGroup).join(', ')}): nothing was changed`);
      for (const group of same) groups.delete(group);
    }
    return {
      ...record,
      name: changes.name ?? record.name,
      email: email ?? record.email,
      groups: [...groups].sort(),
      attributes: { ...record.attributes, ...lowerKeys(changes.attributes ?? {}) },
      disabled: changes.disabled ?? record.disabled,
      mustChangePassword: changes.mustChangePassword ?? record.mustChangePassword,
      oneTimeUse: changes.oneTimeUse ?? record.oneTimeUse,
      expiresAt: changes.expiresAt === null ? undefined : (changes.expiresAt ?? record.expiresAt),
    };
  }
}

function lowerKeys(attributes: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(attributes).map(([key, values]) => [key.toLowerCase(), values]));
}
