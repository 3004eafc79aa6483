import { randomUUID } from 'node:crypto';
import type { Store } from '../store/store.ts';
import type { Clock } from '../core/clock.ts';
import type { Config } from '../config/schema.ts';
import { LocalDirectory, PasswordChangedMeanwhile, type PreparedPassword } from './local-directory.ts';
import { findLocalUserByName, localUsers, type LocalUserRecord } from './local-users.ts';
import { emailProblem, groupProblem, nameProblem, quotedGroup, sharedSignInNames, usernameProblem, type SharedSignInName } from './local-user-rules.ts';
import { FamiliarDeviceRegister } from '../regulation/familiar-device-register.ts';
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

/** One group to a directory, and so to a policy: ASCII case and the spaces RFC 4518 leaves out do not count. */
function sameGroupName(a: string, b: string): boolean {
  return asEveryLdapServerCompares(a) === asEveryLdapServerCompares(b);
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
