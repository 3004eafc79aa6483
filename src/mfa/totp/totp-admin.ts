import type { Clock } from '../../core/clock.ts';
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
      username: enrollment?.username ?? user.username,
      status: !enrollment ? 'Unregistered' : until !== undefined ? 'Locked' : 'Active',
      ...(until !== undefined ? { lockedUntil: until } : {}),
      registeredAt: enrollment?.createdAt,
      lastAttempt: current.lastAttempt,
      lastSuccess: current.lastSuccess,
      backupCodesLeft: enrollment ? await backupCodes.remaining(user.id) : 0,
    };
  }

  /** Registered and known users whose username matches `search` (`*` wildcards, case-insensitive). */
  async list(search = '*'): Promise<TotpStatusRow[]> {
    const users = new Map<string, KnownUser>();
    for (const user of await this.#deps.knownUsers()) users.set(user.id, user);
    for (const enrollment of await this.#deps.enrollments.list()) users.set(enrollment.id, { id: enrollment.id, username: enrollment.username });
    const matching = [...users.values()].filter((user) => wildcardMatch(search, user.username));
    const rows = await Promise.all(matching.map((user) => this.statusOf(user)));
    return rows.sort((a, b) => a.username.localeCompare(b.username));
  }

  /** Finds a user by username (case-insensitive) among registered and known users. */
  async find(username: string): Promise<KnownUser | undefined> {
    const wanted = username.toLowerCase();
    const registered = (await this.#deps.enrollments.list()).find((enrollment) => enrollment.username.toLowerCase() === wanted);
    if (registered) return { id: registered.id, username: registered.username };
    return (await this.#deps.knownUsers()).find((user) => user.username.toLowerCase() === wanted);
  }

  async unlock(userId: string): Promise<void> {
    await this.#deps.state.unlock(userId);
  }

  /** Removes the registration, its backup codes and its counters: the user sets up again at the next sign-in. */
  async reset(userId: string): Promise<boolean> {
    const { enrollments, state, backupCodes } = this.#deps;
    const removed = await enrollments.remove(userId);
    await enrollments.discardPending(userId);
    await backupCodes.delete(userId);
    await state.delete(userId);
    return removed;
  }
}
