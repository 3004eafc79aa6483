import type { TotpEnrollment, TotpEnrollments } from './totp-enrollments.ts';
import type { TotpStateStore } from './totp-state.ts';
import type { TotpParameters } from './totp-codes.ts';
import { openWithPassword, sealWithPassword, type EnvelopeFormat } from '../../core/password-envelope.ts';

const TOTP_EXPORT: EnvelopeFormat = { id: 'stepgate-totp-export', description: 'a Stepgate TOTP export' };

/** What the encrypted file holds per user. Backup codes are not included: their hashes are keyed to this installation. */
interface ExportedUser extends TotpParameters {
  userId: string;
  username: string;
  secret: string;
  createdAt: number;
}

/** Every TOTP registration, secrets in clear but the whole file encrypted with a password (scrypt + AES-256-GCM). */
export async function exportTotp(enrollments: TotpEnrollments, password: string): Promise<{ text: string; count: number }> {
  const users: ExportedUser[] = (await enrollments.list()).map((enrollment) => ({
    userId: enrollment.id,
    username: enrollment.username,
    secret: enrollments.secretOf(enrollment),
    digits: enrollment.digits,
    periodSeconds: enrollment.periodSeconds,
    algorithm: enrollment.algorithm,
    createdAt: enrollment.createdAt,
  }));
  return { text: sealWithPassword({ users }, password, TOTP_EXPORT), count: users.length };
}

export interface TotpImportOptions {
  replace: boolean;
  /** Whether this installation's directory has the user: a registration of no user here is never used and would only be listed. */
  userExists(userId: string): Promise<boolean>;
  /** The users' TOTP state, where each imported registration's replay marker starts afresh (see sameCodes). */
  replayState: Pick<TotpStateStore, 'forgetLastStep'>;
}

export interface TotpImportOutcome {
  imported: number;
  /** Usernames already registered here (kept without `replace`). */
  skipped: string[];
  /** Usernames (with their ids) of registrations whose user this installation does not have: not imported. */
  unknownUsers: string[];
}

/**
 * Adds the registrations of an export file; existing registrations are kept unless `replace` is set.
 * Every user is looked up before anything is written, so a lookup that fails writes nothing.
 */
export async function importTotp(enrollments: TotpEnrollments, text: string, password: string, options: TotpImportOptions): Promise<TotpImportOutcome> {
  const { users } = openWithPassword(text, password, TOTP_EXPORT) as { users: ExportedUser[] };
  const known: ExportedUser[] = [];
  const unknownUsers: string[] = [];
  for (const user of users) {
    if (await options.userExists(user.userId)) known.push(user);
    else unknownUsers.push(`${user.username} (id ${user.userId})`);
  }
  const skipped: string[] = [];
  let imported = 0;
  for (const user of known) {
    const current = await enrollments.get(user.userId);
    if (!options.replace && current) {
      skipped.push(user.username);
      continue;
    }
    // Forgotten before the new registration is written, not after: a code it accepts in between stays used.
    if (!sameCodes(enrollments, current, user)) await options.replayState.forgetLastStep(user.userId);
    await enrollments.put(user.userId, user.username, user.secret, { digits: user.digits, periodSeconds: user.periodSeconds, algorithm: user.algorithm }, user.createdAt);
    imported += 1;
  }
  return { imported, skipped, unknownUsers };
}

/**
 * Whether the imported registration makes the very codes of the current one, time step for time
 * step (same secret and period): then the replay marker stays, or a code the user already entered
 * could be entered again. Any other registration counts other steps, and starts with no marker, as
 * a confirmed replacement does.
 */
function sameCodes(enrollments: TotpEnrollments, current: TotpEnrollment | undefined, imported: ExportedUser): boolean {
  return current !== undefined && current.periodSeconds === imported.periodSeconds && enrollments.secretOf(current) === imported.secret;
}
