import type { User } from '../core/types.ts';
import type { Clock } from '../core/clock.ts';
import type { AuthOutcome, Directory, PasswordChangeOutcome } from './directory.ts';
import { DUMMY_HASH_PROMISE, hashPassword, verifyPassword } from './password-hash.ts';
import { passwordProblems } from './password-rules.ts';
import { ExclusiveKeys } from '../core/exclusive-keys.ts';
import { findLocalUserByName, type LocalUserRecord } from './local-users.ts';
import type { Collection } from '../store/store.ts';
import type { z } from 'zod';
import type { localDirectorySchema } from '../config/schema.ts';

type LocalDirectoryConfig = z.infer<typeof localDirectorySchema>;

const DAY_MS = 86_400_000;
const PREVIOUS_PASSWORDS_KEPT = 5;

export function toUser(record: LocalUserRecord): User {
  return {
    id: record.id,
    username: record.username,
    name: record.name,
    email: record.email,
    groups: [...record.groups],
    attributes: record.attributes,
  };
}

/** Users kept in Stepgate's own store: the embedded default, and for guests, lab users and admins. */
export class LocalDirectory implements Directory {
  readonly kind = 'local' as const;
  readonly #users: Collection<LocalUserRecord>;
  readonly #config: LocalDirectoryConfig;
  readonly #clock: Clock;
  readonly #spending = new ExclusiveKeys();

  constructor(users: Collection<LocalUserRecord>, config: LocalDirectoryConfig, clock: Clock) {
    this.#users = users;
    this.#config = config;
    this.#clock = clock;
  }

  async authenticate(login: string, password: string): Promise<AuthOutcome> {
    const record = await findLocalUserByName(this.#users, login.trim());
    if (!record?.passwordHash || password.length === 0) {
      await verifyPassword(password || 'x', await DUMMY_HASH_PROMISE); // same cost as a real check
      return { ok: false, reason: 'invalid-credentials' };
    }
    if (!(await verifyPassword(password, record.passwordHash))) return { ok: false, reason: 'invalid-credentials', accountId: record.id };

    const user = toUser(record);
    const now = this.#clock.now();
    if (record.disabled) return { ok: false, reason: 'account-state', state: 'disabled', user };
    if (record.expiresAt !== undefined && record.expiresAt <= now) return { ok: false, reason: 'account-state', state: 'expired', user };
    if (record.mustChangePassword) return { ok: false, reason: 'account-state', state: 'must-change', user };
    const { maxAgeDays, expiryWarningDays } = this.#config.passwordRules;
    let daysLeft: number | undefined;
    if (maxAgeDays > 0 && record.passwordChangedAt !== undefined) {
      const expiresAt = record.passwordChangedAt + maxAgeDays * DAY_MS;
      if (expiresAt <= now) return { ok: false, reason: 'account-state', state: 'password-expired', user };
      daysLeft = Math.ceil((expiresAt - now) / DAY_MS);
    }
    if (record.oneTimeUse && !(await this.#spendOneTimeUse(record.id))) return { ok: false, reason: 'account-state', state: 'disabled', user };
    return {
      ok: true,
      user,
      ...(daysLeft !== undefined && daysLeft <= expiryWarningDays ? { passwordExpiresInDays: daysLeft } : {}),
      ...(record.oneTimeUse ? { spentOneTimeAccount: true as const } : {}),
    };
  }

  /**
   * Disables a one-time account as it signs in; false when another sign-in spent it first. Sign-ins
   * that verified the password in parallel all read the account before any of them disabled it.
   */
  async #spendOneTimeUse(id: string): Promise<boolean> {
    return this.#spending.run(id, async () => {
      const current = await this.#users.get(id);
      if (!current || current.disabled) return false;
      await this.#users.put({ ...current, disabled: true });
      return true;
    });
  }

  async findUserById(id: string): Promise<User | null> {
    const record = await this.#users.get(id);
    return record && !record.disabled ? toUser(record) : null;
  }

  async findUser(login: string): Promise<User | null> {
    const record = await findLocalUserByName(this.#users, login.trim());
    return record ? toUser(record) : null;
  }

  /** Validates and sets a new password; shared by the sign-in password change and the admin CLI. */
  async setPassword(record: LocalUserRecord, newPassword: string, options: { mustChange?: boolean } = {}): Promise<PasswordChangeOutcome> {
    const problems = passwordProblems(this.#config.passwordRules, newPassword, record.username);
    for (const previous of [record.passwordHash, ...record.previousPasswordHashes]) {
      if (previous && (await verifyPassword(newPassword, previous))) {
        problems.push('It must differ from your previous passwords.');
        break;
      }
    }
    if (problems.length > 0) return { ok: false, message: problems.join(' '), wrongCurrent: false };
    const previousPasswordHashes = [record.passwordHash, ...record.previousPasswordHashes].filter((hash): hash is string => !!hash).slice(0, PREVIOUS_PASSWORDS_KEPT);
    await this.#users.put({
      ...record,
      passwordHash: await hashPassword(newPassword),
      previousPasswordHashes,
      passwordChangedAt: this.#clock.now(),
      mustChangePassword: options.mustChange ?? false,
    });
    return { ok: true };
  }

  async changePassword(login: string, oldPassword: string, newPassword: string): Promise<PasswordChangeOutcome> {
    const record = await findLocalUserByName(this.#users, login.trim());
    if (!record?.passwordHash || !(await verifyPassword(oldPassword, record.passwordHash))) {
      return { ok: false, message: 'The current password is not correct.', wrongCurrent: true };
    }
    if (record.disabled) return { ok: false, message: 'Your account is disabled.', wrongCurrent: false };
    return this.setPassword(record, newPassword);
  }

  async startupCheck(): Promise<void> {
    await this.#users.list();
  }

  async close(): Promise<void> {}
}
