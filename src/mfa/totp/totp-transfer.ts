import type { Store } from '../../store/store.ts';
import { ENROLLMENT_COLLECTION, type TotpEnrollment, type TotpEnrollments } from './totp-enrollments.ts';
import type { TotpStateStore } from './totp-state.ts';
import type { BackupCodes } from './backup-codes.ts';
import { openWithPassword, sealWithPassword } from '../../core/password-envelope.ts';
import { readPayload, TOTP_EXPORT, type ExportedUser } from './totp-export-payload.ts';

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
  /** Where the registrations are written, all of them in one write. */
  store: Pick<Store, 'putAll'>;
  /** The users' TOTP state, where each imported registration's replay marker starts afresh (see sameCodes). */
  replayState: Pick<TotpStateStore, 'forgetLastStep'>;
  /** The users' backup codes: those of a registration replaced by another secret go (see importTotp). */
  backupCodes: Pick<BackupCodes, 'remaining' | 'delete'>;
}

export interface TotpImportOutcome {
  imported: number;
  /** Usernames already registered here (kept without `replace`). */
  skipped: string[];
  /** Usernames (with their ids) of registrations whose user this installation does not have: not imported. */
  unknownUsers: string[];
  /** Usernames whose backup codes were voided: their registration here now has another secret. */
  backupCodesVoided: string[];
  /** Users whose registration here was replaced by one with another secret: their sessions signed in with the old one (see `mfa reset`). */
  secretReplaced: Array<{ id: string; username: string }>;
}

/** Why an import wrote nothing: `problems` are sentences for the admin, each naming the registration. */
export class TotpImportRefused extends Error {
  readonly reason: 'invalid' | 'directory-unavailable';
  readonly problems: string[];

  constructor(reason: TotpImportRefused['reason'], problems: string[]) {
    super(problems.join('; '));
    this.name = 'TotpImportRefused';
    this.reason = reason;
    this.problems = problems;
  }
}

/**
 * Writing failed (a full disk, a data directory that went away): no registration was written, but
 * replay markers and backup codes dropped just before may be gone. Running the import again completes it.
 */
export class TotpImportWriteError extends Error {
  constructor(cause: unknown) {
    super(`the data directory could not be written (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, { cause });
    this.name = 'TotpImportWriteError';
  }
}

/** What the import does to one user, decided before anything is written. */
interface Planned {
  user: ExportedUser;
  /** The registration's codes are not the current one's: its replay marker counts other steps. */
  forgetLastStep: boolean;
  /** It has another secret than the current one: the current one's backup codes must not outlive it. */
  voidBackupCodes: boolean;
  /** It replaces a registration with another secret. */
  replacesSecret: boolean;
}

/**
 * Adds the registrations of an export file; existing registrations are kept unless `replace` is set.
 * The whole file is checked and every user looked up before anything is written: a file with one bad
 * registration, or a lookup that fails, writes nothing (TotpImportRefused). Then all registrations
 * go in one write. A registration replaced by another secret loses its backup codes, as when its
 * user moves to a new app: they were made with the old one, whose holder the import may be shutting out.
 */
export async function importTotp(enrollments: TotpEnrollments, text: string, password: string, options: TotpImportOptions): Promise<TotpImportOutcome> {
  const { users, problems } = readPayload(openWithPassword(text, password, TOTP_EXPORT));
  if (!users) throw new TotpImportRefused('invalid', problems);
  const known: ExportedUser[] = [];
  const unknownUsers: string[] = [];
  for (const user of users) {
    if (await exists(options, user)) known.push(user);
    else unknownUsers.push(`${user.username} (id ${user.userId})`);
  }
  const skipped: string[] = [];
  const planned: Planned[] = [];
  for (const user of known) {
    const current = await enrollments.get(user.userId);
    if (!options.replace && current) {
      skipped.push(user.username);
      continue;
    }
    const sameSecret = current !== undefined && enrollments.secretOf(current) === user.secret;
    planned.push({ user, forgetLastStep: !sameCodes(current, user, sameSecret), voidBackupCodes: !sameSecret && (await options.backupCodes.remaining(user.userId)) > 0, replacesSecret: current !== undefined && !sameSecret });
  }
  try {
    // Before the registrations, not after: a code the old one accepts in between stays used, and a
    // backup code of it cannot outlast it. Should the write below fail, no registration changed.
    for (const { user, forgetLastStep, voidBackupCodes } of planned) {
      if (forgetLastStep) await options.replayState.forgetLastStep(user.userId);
      if (voidBackupCodes) await options.backupCodes.delete(user.userId);
    }
    if (planned.length) await options.store.putAll(planned.map(({ user }) => ({ collection: ENROLLMENT_COLLECTION, item: importedRecord(enrollments, user) })));
  } catch (error) {
    throw new TotpImportWriteError(error);
  }
  return {
    imported: planned.length,
    skipped,
    unknownUsers,
    backupCodesVoided: planned.filter((entry) => entry.voidBackupCodes).map(({ user }) => user.username),
    secretReplaced: planned.filter((entry) => entry.replacesSecret).map(({ user }) => ({ id: user.userId, username: user.username })),
  };
}

async function exists(options: TotpImportOptions, user: ExportedUser): Promise<boolean> {
  try {
    return await options.userExists(user.userId);
  } catch (error) {
    throw new TotpImportRefused('directory-unavailable', [`the directory could not be asked whether user id ${user.userId} ("${user.username}") is there: ${(error as Error).message}`]);
  }
}

function importedRecord(enrollments: TotpEnrollments, user: ExportedUser): TotpEnrollment {
  return enrollments.sealedRecord(user.userId, user.username, user.secret, { digits: user.digits, periodSeconds: user.periodSeconds, algorithm: user.algorithm }, user.createdAt);
}

/**
 * Whether the imported registration makes the very codes of the current one, time step for time
 * step (same secret and period): then the replay marker stays, or a code the user already entered
 * could be entered again. Any other registration counts other steps, and starts with no marker, as
 * a confirmed replacement does.
 */
function sameCodes(current: TotpEnrollment | undefined, imported: ExportedUser, sameSecret: boolean): boolean {
  return current !== undefined && sameSecret && current.periodSeconds === imported.periodSeconds;
}
