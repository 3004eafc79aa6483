import { checkWritable, writePrivateFile } from '../write-private-file.ts';
import { exportWriteRefusal } from '../export-file.ts';
import type { CliCommand, CliContext, ParsedArgs } from '../command.ts';
import { pathOption, stringOption, UsageError } from '../command.ts';
import { MIN_DISTINCT_PASSWORD_CHARACTERS, PASSWORD_OPTIONS, readExportPassword, readNewExportPassword } from '../read-secret.ts';
import { InputFileError, readInputFile } from '../read-input-file.ts';
import { EnvelopeError } from '../../core/password-envelope.ts';
import type { KnownUser, StoredRegistration, TotpAdmin, TotpStatusRow } from '../../mfa/totp/totp-admin.ts';
import { exportTotp, importTotp, TotpImportRefused, TotpImportWriteError, type TotpImportOutcome } from '../../mfa/totp/totp-transfer.ts';
import { TotpStateStore } from '../../mfa/totp/totp-state.ts';
import { MIN_PASSWORD_LENGTH } from '../../core/password-envelope.ts';
import { auditAdminAction } from '../admin-audit.ts';
import { SessionAdmin } from '../session-admin.ts';
import { withDirectory } from '../with-directory.ts';
import { terminalSafe } from '../../core/terminal-text.ts';
import { utcEndMinute, utcMinute } from '../../core/utc-minute.ts';

function time(at: number | undefined): string {
  return at === undefined ? '-' : utcMinute(at);
}

function statusText(row: TotpStatusRow): string {
  if (row.status !== 'Locked') return row.status;
  return typeof row.lockedUntil === 'number' ? `Locked (until ${utcEndMinute(row.lockedUntil)})` : 'Locked (until unlocked)';
}

/** Problems of a refused file named in its audit event: one event stays a line `audit` reads whole. */
const AUDITED_PROBLEMS = 20;

/** Wide enough for "Locked (until 2026-11-23 18:39 UTC)". */
const STATUS_WIDTH = 35;

function registrationLine(registration: StoredRegistration): string {
  const now =
    registration.currentUsername === undefined ? '' : registration.currentUsername === null ? '  not in the directory now (removed or disabled)' : `  "${registration.currentUsername}" in the directory now`;
  return `  ${registration.userId}  registered ${time(registration.registeredAt)}${now}`;
}

/**
 * The user a command acts on: USERNAME as the configured directory resolves it now, or --id. A name
 * stored on a registration is never enough on its own: after a rename it may be another user's
 * name, and resetting the wrong user's TOTP lets whoever has their password set up a new one.
 */
async function chosenUser(context: CliContext, admin: TotpAdmin, args: ParsedArgs): Promise<KnownUser | undefined> {
  const login = args.positional[0];
  const userId = stringOption(args, 'id');
  if (login === undefined && userId === undefined) throw new UsageError('a USERNAME or --id USER_ID is required');
  if (login !== undefined && userId !== undefined) throw new UsageError('give a USERNAME or --id USER_ID, not both');
  const resolution = await withDirectory(context, (directory) => (userId === undefined ? admin.resolve(login!, directory) : admin.resolveId(userId, directory)));
  if (resolution.kind === 'found') return resolution.user;
  const directoryKind = context.config.directory.kind;
  const who = userId === undefined ? `"${login}"` : `with id ${userId}`;
  if (resolution.kind === 'unavailable') context.err(`The ${directoryKind} directory could not be asked which user ${who} is: ${resolution.detail}. Nothing was changed.`);
  else context.err(`No user ${who} in the ${directoryKind} directory${userId === undefined ? '' : ', and no TOTP registration'}.`);
  if (resolution.storedUnderName.length > 0) {
    context.err(`TOTP registrations stored under the name "${login}" (the name each user had when they last used TOTP):`);
    for (const registration of resolution.storedUnderName) context.err(registrationLine(registration));
    context.err('Make sure which user is meant, then give --id USER_ID.');
  }
  return undefined;
}

const USER_ARGUMENT_HELP = `USERNAME is looked up in the configured directory as a sign-in does (DOMAIN\\user and user@domain
too), and the command acts on that user's registration, whatever name is stored on it. --id USER_ID
names the user by id instead (shown by mfa list): for a registration whose user the directory no
longer has, or while the directory cannot be asked. When it cannot be asked, a USERNAME changes
nothing: the command lists the registrations stored under that name, with their ids.`;

/**
 * Names on more than one row: a registration keeps the name its user had when they last used TOTP,
 * so a renamed user's old name can be another user's name now.
 */
function duplicatedNames(rows: TotpStatusRow[]): Map<string, TotpStatusRow[]> {
  const byName = Map.groupBy(rows, (row) => row.username.toLowerCase());
  return new Map([...byName].filter(([, sameName]) => sameName.length > 1));
}

async function explainDuplicates(context: CliContext, admin: TotpAdmin, duplicates: Map<string, TotpStatusRow[]>): Promise<void> {
  const registered = [...duplicates.values()].flat().filter((row) => row.registeredAt !== undefined);
  const stored = registered.map((row) => ({ userId: row.userId, storedUsername: row.username, registeredAt: row.registeredAt! }));
  const current = await withDirectory(context, (directory) => admin.withCurrentNames(stored, directory));
  context.out('');
  context.out('* The same name on more than one user: a registration keeps the name its user had when they last');
  context.out('  used TOTP, so it may be out of date. Act on one of them with --id USER_ID.');
  if (current.some((registration) => registration.currentUsername === undefined)) context.out(`  (The ${context.config.directory.kind} directory could not be asked for their names now.)`);
  for (const registration of current) context.out(`${registration.storedUsername.padEnd(20)}${registrationLine(registration)}`);
}

/**
 * A refused or failed import, audited (a wrong password may be someone guessing) with a reason an
 * admin can act on; an error of another kind is a fault, not an answer about the file, and goes on.
 */
async function refuseImport(context: CliContext, file: string, error: unknown): Promise<number> {
  const failed = async (event: Record<string, unknown>, message: string) => {
    await auditAdminAction(context, { type: 'mfa.import', outcome: 'failure', file, ...event });
    context.err(message);
    return 1;
  };
  if (error instanceof EnvelopeError) return failed({ reason: 'unreadable' }, `Import failed, nothing was changed: ${error.message}.`);
  if (error instanceof TotpImportRefused) {
    const { reason } = error;
    // They quote the file's usernames (see names in mfa import).
    const problems = error.problems.map(terminalSafe);
    const message = problems.length === 1 ? `Import failed, nothing was changed: ${problems[0]}.` : ['Import failed, nothing was changed. The file has these problems:', ...problems.map((problem) => `  - ${problem}`)].join('\n');
    return failed({ reason, problems: problems.slice(0, AUDITED_PROBLEMS) }, message);
  }
  if (error instanceof TotpImportWriteError) {
    const message = `Import failed: ${error.message}. No registration was written, but replay markers and backup codes of the users it replaces may be gone already: run the import again once the data directory can be written.`;
    return failed({ reason: 'write-failed', detail: error.message }, message);
  }
  throw error;
}

export const mfaCommands: CliCommand[] = [
  {
    name: 'mfa list',
    summary: 'TOTP status per user: Active / Locked / Unregistered, last attempt and success',
    help: `Usage: npm run cli -- mfa list [--search '*jo*']

One line per user: status, registration date, last attempt (time, client IP, result), last successful
code (time, client IP), backup codes left and user id. Times are UTC, to the minute; the end of a
lock is rounded up (at the minute shown it has lifted). --search filters usernames with * wildcards
(case-insensitive). Users of the local directory are listed even without a registration; LDAP users
once registered. An LDAP user's name is the one they had when they last used TOTP; a name on more
than one line is marked with *, and below the table the directory says whose name it is now.`,
    options: { search: 'string' },
    arguments: [],
    async run(args, context) {
      const { totpAdmin } = await context.mfa();
      const rows = await totpAdmin.list(stringOption(args, 'search') ?? '*');
      const duplicates = duplicatedNames(rows);
      context.out(`${'USER'.padEnd(20)} ${'STATUS'.padEnd(STATUS_WIDTH)} ${'REGISTERED (UTC)'.padEnd(16)} ${'LAST ATTEMPT (UTC)'.padEnd(40)} ${'LAST SUCCESS (UTC)'.padEnd(36)} ${'BACKUP'.padEnd(6)} USER ID`);
      for (const row of rows) {
        const user = duplicates.has(row.username.toLowerCase()) ? `${row.username} *` : row.username;
        const attempt = row.lastAttempt ? `${time(row.lastAttempt.at)} ${row.lastAttempt.ip} ${row.lastAttempt.ok ? 'ok' : 'failed'}` : '-';
        const success = row.lastSuccess ? `${time(row.lastSuccess.at)} ${row.lastSuccess.ip}` : '-';
        const backup = row.status === 'Unregistered' ? '-' : String(row.backupCodesLeft);
        context.out(`${user.padEnd(20)} ${statusText(row).padEnd(STATUS_WIDTH)} ${time(row.registeredAt).padEnd(16)} ${attempt.padEnd(40)} ${success.padEnd(36)} ${backup.padEnd(6)} ${row.userId}`);
      }
      if (rows.length === 0) context.out('(no matching users)');
      if (duplicates.size > 0) await explainDuplicates(context, totpAdmin, duplicates);
      return 0;
    },
  },
  {
    name: 'mfa unlock',
    summary: "lift a user's TOTP lock after too many wrong codes",
    help: `Usage: npm run cli -- mfa unlock USERNAME | --id USER_ID

Clears the lock and the counts of wrong codes and of locks in a row (each lock lasts longer than
the one before). A running server sees it within a second.

${USER_ARGUMENT_HELP}`,
    options: { id: 'string' },
    arguments: ['[USERNAME]'],
    async run(args, context) {
      const { totpAdmin } = await context.mfa();
      const user = await chosenUser(context, totpAdmin, args);
      if (!user) return 1;
      const { status } = await totpAdmin.statusOf(user);
      await totpAdmin.unlock(user.id);
      await auditAdminAction(context, { type: 'mfa.unlock', userId: user.id, username: user.username, wasLocked: status === 'Locked' });
      // Said as it was: "Unlocked" for a user who had no lock, or no registration, misleads the helpdesk.
      if (status === 'Locked') context.out(`Unlocked ${user.username}.`);
      else if (status === 'Active') context.out(`${user.username} was not locked; the count of wrong codes is cleared.`);
      else context.out(`${user.username} has no TOTP registration; there was nothing to unlock.`);
      return 0;
    },
  },
  {
    name: 'mfa reset',
    summary: "remove a user's TOTP registration and backup codes",
    help: `Usage: npm run cli -- mfa reset USERNAME | --id USER_ID

The user sets up an authenticator app again at the next sign-in that needs a second factor
(with mfa.enrollment.networks set, only from those networks: see the README).
The user's SSO sessions end too (as with "session end --user"): a session keeps the factors it
signed in with, so one that used the lost authenticator would go on signing in to applications that
require a second factor. SAML service providers cannot be told (the command names them).

${USER_ARGUMENT_HELP}`,
    options: { id: 'string' },
    arguments: ['[USERNAME]'],
    async run(args, context) {
      const { totpAdmin } = await context.mfa();
      const user = await chosenUser(context, totpAdmin, args);
      if (!user) return 1;
      const removed = await totpAdmin.reset(user.id);
      await auditAdminAction(context, { type: 'mfa.reset', userId: user.id, username: user.username });
      context.out(removed ? `Removed the TOTP registration of ${user.username}.` : `${user.username} had no TOTP registration; counters cleared.`);
      const networks = context.config.mfa.enrollment.networks;
      if (networks) context.out(`${user.username} can set up a new authenticator app only from mfa.enrollment.networks (${networks.join(', ')}).`);
      for (const line of await (await SessionAdmin.open(context)).endSessionsOf(user, 'mfa-reset')) context.out(line);
      return 0;
    },
  },
  {
    name: 'mfa export',
    summary: 'write every TOTP registration to a password-encrypted file',
    help: `Usage: npm run cli -- mfa export --out FILE --password-file PWFILE [--force] [--quiet]

The file is readable by its owner only (mode 0600); an existing FILE is replaced only with --force.
--quiet prints nothing on success.

Encrypts with a key derived from the password (scrypt, AES-256-GCM); at least ${MIN_PASSWORD_LENGTH} characters,
${MIN_DISTINCT_PASSWORD_CHARACTERS} of them different. --password-stdin reads it from a pipe instead.
Backup codes are not exported (their hashes are keyed to this installation): users make new ones.
Audited as mfa.export (success, or failure when the file cannot be written).`,
    options: { out: 'string', force: 'flag', quiet: 'flag', ...PASSWORD_OPTIONS },
    arguments: [],
    async run(args, context) {
      const out = pathOption(args, 'out');
      if (!out) throw new UsageError('--out FILE is required');
      const password = readNewExportPassword(args);
      const overwrite = args.options.force === true;
      // Checked before every secret is opened, and again by the write itself (a file may appear meanwhile).
      const early = await exportWriteRefusal(context, 'mfa.export', out, () => checkWritable(out, { overwrite }));
      if (early) return early;
      const { text, count } = await exportTotp((await context.mfa()).enrollments, password);
      const failed = await exportWriteRefusal(context, 'mfa.export', out, () => writePrivateFile(out, text, { overwrite }));
      if (failed) return failed;
      await auditAdminAction(context, { type: 'mfa.export', file: out, registrations: count });
      if (args.options.quiet !== true) context.out(`Exported ${count} TOTP registration${count === 1 ? '' : 's'} to ${out}.`);
      return 0;
    },
  },
  {
    name: 'mfa import',
    summary: 'add TOTP registrations from a file made by mfa export',
    help: `Usage: npm run cli -- mfa import --in FILE --password-file PWFILE [--replace] [--quiet]

Every registration in the file is checked first (a Base32 secret of 16 to 64 bytes, digits, period
and algorithm as the configuration allows them, user ids): one that is not right refuses the whole
file, with a line naming its user id and field, and nothing is changed. Then all registrations are
written in one step.
Existing registrations are kept (and listed as skipped) unless --replace is given. An imported
registration's codes work at once: a code used with the registration it replaces does not count
against it, unless both have the same secret and period (then a code already used stays used).
A registration replaced by one with another secret loses its backup codes (they were made with the
old one, as when a user moves to a new app): the import names those users, who make new ones on
"My security". With the same secret, the backup codes stay.
--password-stdin reads the password from a pipe instead of --password-file.
--quiet prints nothing on success (users not imported are still named on stderr).
A registration of a user id the configured directory does not have is not imported: it is named in a
warning (for LDAP, the directory is asked; if it cannot be, nothing is imported).
A registration replaced by one with another secret ends its user's SSO sessions, as mfa reset does
(a session keeps the factors it signed in with); the output says how many (audited as session.ended,
reason totp-imported).
Audited as mfa.import (success, or failure with the reason).`,
    options: { in: 'string', replace: 'flag', quiet: 'flag', ...PASSWORD_OPTIONS },
    arguments: [],
    async run(args, context) {
      const file = pathOption(args, 'in');
      if (!file) throw new UsageError('--in FILE is required');
      const password = readExportPassword(args);
      let text: string;
      try {
        text = readInputFile(file);
      } catch (error) {
        if (!(error instanceof InputFileError)) throw error;
        context.err(`Import failed, nothing was changed: ${error.message}.`);
        return 1;
      }
      const { enrollments, backupCodes } = await context.mfa();
      const store = await context.store();
      return withDirectory(context, async (directory) => {
        let outcome: TotpImportOutcome;
        try {
          outcome = await importTotp(enrollments, text, password, {
            replace: args.options.replace === true,
            userExists: async (userId) => (await directory.findUserById(userId)) !== null,
            store,
            replayState: new TotpStateStore(store.kv),
            backupCodes,
          });
        } catch (error) {
          return refuseImport(context, file, error);
        }
        const { imported, skipped, unknownUsers, backupCodesVoided, secretReplaced } = outcome;
        await auditAdminAction(context, { type: 'mfa.import', file, registrations: imported, skipped: skipped.length, unknownUsers: unknownUsers.length, backupCodesVoided: backupCodesVoided.length });
        // The names come from the file: written out, a control character would act on the admin's terminal.
        const names = (usernames: string[]) => usernames.map(terminalSafe).join(', ');
        if (unknownUsers.length) context.err(`Warning: not imported, no such user here: ${names(unknownUsers)}.`);
        // As mfa reset: a session that signed in with the replaced registration would go on passing its second step.
        const ended = await (await SessionAdmin.open(context)).endSessionsAfterImport(secretReplaced, 'whose TOTP secret the import changed', 'totp-imported');
        if (args.options.quiet === true) return 0;
        context.out(`Imported ${imported} TOTP registration${imported === 1 ? '' : 's'}.${skipped.length ? ` Skipped (already registered): ${names(skipped)}.` : ''}`);
        if (backupCodesVoided.length) {
          const users = backupCodesVoided.length === 1 ? '1 user' : `${backupCodesVoided.length} users`;
          context.out(`The backup codes of ${users} were voided, as their registration now has another secret: ${names(backupCodesVoided)}. They make new ones on "My security".`);
        }
        for (const line of ended) context.out(line);
        return 0;
      });
    },
  },
];
