import type { Clock } from '../../core/clock.ts';
import type { User } from '../../core/types.ts';
import type { Directory } from '../../directory/directory.ts';
import type { TotpEnrollments } from './totp-enrollments.ts';
import type { BackupCodes } from './backup-codes.ts';
import { lockedUntil, type LockoutSettings, type TotpState, type TotpStateStore } from './totp-state.ts';
import { wildcardMatch } from '../../policy/patterns.ts';

export type TotpStatus = 'Active' | 'Locked' | 'Unregistered';

/** One line of the administrator's table (and of the user's own "my security" page). */
export interface TotpStatusRow {
  userId: string;
  username: string;
  status: TotpStatus;
  /** While locked: when it lifts (epoch ms), or null for "until an administrator unlocks". */
  lockedUntil?: number | null;
  registeredAt?: number;
  lastAttempt?: TotpState['lastAttempt'];
  lastSuccess?: TotpState['lastSuccess'];
  backupCodesLeft: number;
}

export interface KnownUser {
  id: string;
  username: string;
}

/** Where the administrator's tools look users up: the configured directory, local or LDAP. */
export type UserDirectory = Pick<Directory, 'findUser' | 'findUserById'>;

/** A registration as stored, for an administrator choosing among several stored under one name. */
export interface StoredRegistration {
  userId: string;
  /** The name its user had when they last used TOTP: after a rename it may be another user's name now. */
  storedUsername: string;
  registeredAt: number;
  /** The directory's name for this user id now; null when it has no such user (removed or disabled); absent when it was not asked or could not be. */
  currentUsername?: string | null;
}

export type UserResolution =
  | { kind: 'found'; user: KnownUser }
  /** No such user; `storedUnderName`: registrations of other user ids still stored under the name (renamed or removed users). */
  | { kind: 'not-found'; storedUnderName: StoredRegistration[] }
  /** The directory could not be asked; the stored names alone cannot say who is meant. */
  | { kind: 'unavailable'; detail: string; storedUnderName: StoredRegistration[] };

export interface TotpAdminDeps {
  enrollments: TotpEnrollments;
  state: TotpStateStore;
  backupCodes: BackupCodes;
  clock: Clock;
  settings: LockoutSettings;
  /** Users Stepgate can list without a registration (the local directory); LDAP users appear once registered. */
  knownUsers(): Promise<KnownUser[]>;
}

/** Status, unlock and reset of users' TOTP registrations; used by the CLI and the account page. */
export class TotpAdmin {
  readonly #deps: TotpAdminDeps;

  constructor(deps: TotpAdminDeps) {
    this.#deps = deps;
  }

  async statusOf(user: KnownUser): Promise<TotpStatusRow> {
    const { enrollments, state, backupCodes, clock, settings } = this.#deps;
    const enrollment = await enrollments.get(user.id);
    const current = await state.read(user.id);
    const until = enrollment ? lockedUntil(current, clock.now(), settings) : undefined;
    return {
      userId: user.id,
      username: user.username,
      status: !enrollment ? 'Unregistered' : until !== undefined ? 'Locked' : 'Active',
      ...(until !== undefined ? { lockedUntil: until } : {}),
      registeredAt: enrollment?.createdAt,
      lastAttempt: current.lastAttempt,
      lastSuccess: current.lastSuccess,
      backupCodesLeft: enrollment ? await backupCodes.remaining(user.id) : 0,
    };
  }

  /**
   * Registered and known users whose username matches `search` (`*` wildcards, case-insensitive). A
   * known user's name is the directory's current one; a registration's own is as of its last TOTP use.
   */
  async list(search = '*'): Promise<TotpStatusRow[]> {
    const users = new Map<string, KnownUser>();
    for (const enrollment of await this.#deps.enrollments.list()) users.set(enrollment.id, { id: enrollment.id, username: enrollment.username });
    for (const user of await this.#deps.knownUsers()) users.set(user.id, user);
    const matching = [...users.values()].filter((user) => wildcardMatch(search, user.username));
    const rows = await Promise.all(matching.map((user) => this.statusOf(user)));
    return rows.sort((a, b) => a.username.localeCompare(b.username));
  }

  /**
   * The user an administrator names, looked up in the directory as a sign-in does (DOMAIN\user and
   * user@domain too). Never by the name stored on a registration: that is the name its user had at
   * their last TOTP use, and after a rename it may be someone else's name now.
   */
  async resolve(login: string, directory: UserDirectory): Promise<UserResolution> {
    let user: User | null;
    try {
      user = await directory.findUser(login);
    } catch (error) {
      return { kind: 'unavailable', detail: (error as Error).message, storedUnderName: await this.#registrationsNamed(login) };
    }
    if (user) return { kind: 'found', user: { id: user.id, username: user.username } };
    return { kind: 'not-found', storedUnderName: await this.withCurrentNames(await this.#registrationsNamed(login), directory) };
  }

  /**
   * The user of this id, named as the directory names them now. A registration the directory has no
   * user for (removed, disabled) or cannot be asked about is still found, under its stored name: an
   * id is unambiguous, and such registrations need cleaning up too.
   */
  async resolveId(userId: string, directory: UserDirectory): Promise<UserResolution> {
    const enrollment = await this.#deps.enrollments.get(userId);
    try {
      const user = await directory.findUserById(userId);
      if (user) return { kind: 'found', user: { id: user.id, username: user.username } };
    } catch (error) {
      if (!enrollment) return { kind: 'unavailable', detail: (error as Error).message, storedUnderName: [] };
    }
    return enrollment ? { kind: 'found', user: { id: enrollment.id, username: enrollment.username } } : { kind: 'not-found', storedUnderName: [] };
  }

  /** The directory's current name of each registration's user; unchanged when the directory cannot be asked. */
  async withCurrentNames(registrations: StoredRegistration[], directory: UserDirectory): Promise<StoredRegistration[]> {
    try {
      return await Promise.all(registrations.map(async (registration) => ({ ...registration, currentUsername: (await directory.findUserById(registration.userId))?.username ?? null })));
    } catch {
      return registrations;
    }
  }

  async #registrationsNamed(username: string): Promise<StoredRegistration[]> {
    const wanted = username.trim().toLowerCase();
    return (await this.#deps.enrollments.list())
      .filter((enrollment) => enrollment.username.toLowerCase() === wanted)
      .map((enrollment) => ({ userId: enrollment.id, storedUsername: enrollment.username, registeredAt: enrollment.createdAt }));
  }

  async unlock(userId: string): Promise<void> {
    await this.#deps.state.unlock(userId);
  }

  /**
   * Removes the registration, its backup codes and its counters, and voids setups shown but not yet
   * confirmed (a secret shown before the reset must not become the new registration): the user sets
   * up again at the next sign-in.
   */
  async reset(userId: string): Promise<boolean> {
    const { enrollments, state, backupCodes } = this.#deps;
    // The mark first: a setup the server confirms meanwhile then sees it once its registration is
    // stored, and removes it, should this removal have come before that registration (totp-method.ts).
    await enrollments.voidPending(userId);
    const removed = await enrollments.remove(userId);
    await backupCodes.delete(userId);
    await state.delete(userId);
    return removed;
  }
}
