import { FileWriteError, writePrivateFile } from '../write-private-file.ts';
import type { CliCommand, CliContext } from '../command.ts';
import { pathOption, stringOption, UsageError } from '../command.ts';
import { MIN_DISTINCT_PASSWORD_CHARACTERS, PASSWORD_OPTIONS, readExportPassword, readNewExportPassword, readTextFile } from '../read-secret.ts';
import { EnvelopeError } from '../../core/password-envelope.ts';
import { createDirectory } from '../../build-services.ts';
import { createLogger } from '../../core/log.ts';
import { buildMfa } from '../../mfa/build-mfa.ts';
import type { TotpAdmin, TotpStatusRow } from '../../mfa/totp/totp-admin.ts';
import { exportTotp, importTotp } from '../../mfa/totp/totp-transfer.ts';
import { MIN_PASSWORD_LENGTH } from '../../core/password-envelope.ts';
import { auditAdminAction } from '../admin-audit.ts';

async function mfaServices(context: CliContext) {
  return buildMfa(context.config, await context.store(), context.box(), context.clock);
}

function time(at: number | undefined): string {
  return at === undefined ? '-' : new Date(at).toISOString().slice(0, 16).replace('T', ' ');
}

function statusText(row: TotpStatusRow): string {
  if (row.status !== 'Locked') return row.status;
  return row.lockedUntil === null ? 'Locked (until unlocked)' : `Locked (until ${time(row.lockedUntil)})`;
}

async function userArgument(context: CliContext, admin: TotpAdmin, username: string | undefined) {
  if (!username) throw new UsageError('a username is required');
  const user = await admin.find(username);
  if (!user) context.err(`No user "${username}" with a TOTP registration${context.config.directory.kind === 'local' ? ' or in the local directory' : ''}.`);
  return user;
}

/** Whether the configured directory has a user of this id; an LDAP directory that cannot be asked fails the import. */
async function userExistsHere(context: CliContext): Promise<{ userExists(userId: string): Promise<boolean>; close(): Promise<void> }> {
  const directory = await createDirectory(context.config, await context.store(), createLogger('error'), context.clock);
  return { userExists: async (userId) => (await directory.findUserById(userId)) !== null, close: () => directory.close() };
}

export const mfaCommands: CliCommand[] = [
  {
    name: 'mfa list',
    summary: 'TOTP status per user: Active / Locked / Unregistered, last attempt and success',
    help: `Usage: npm run cli -- mfa list [--search '*jo*']

One line per user: status, registration date, last attempt (time, client IP, result), last successful
code (time, client IP) and backup codes left. --search filters usernames with * wildcards (case-insensitive).
Users of the local directory are listed even without a registration; LDAP users once registered.`,
    options: { search: 'string' },
    arguments: [],
    async run(args, context) {
      const rows = await (await mfaServices(context)).totpAdmin.list(stringOption(args, 'search') ?? '*');
      context.out(`${'USER'.padEnd(20)} ${'STATUS'.padEnd(32)} ${'REGISTERED'.padEnd(16)} ${'LAST ATTEMPT'.padEnd(40)} ${'LAST SUCCESS'.padEnd(36)} BACKUP`);
      for (const row of rows) {
        const attempt = row.lastAttempt ? `${time(row.lastAttempt.at)} ${row.lastAttempt.ip} ${row.lastAttempt.ok ? 'ok' : 'failed'}` : '-';
        const success = row.lastSuccess ? `${time(row.lastSuccess.at)} ${row.lastSuccess.ip}` : '-';
        context.out(`${row.username.padEnd(20)} ${statusText(row).padEnd(32)} ${time(row.registeredAt).padEnd(16)} ${attempt.padEnd(40)} ${success.padEnd(36)} ${row.status === 'Unregistered' ? '-' : row.backupCodesLeft}`);
      }
      if (rows.length === 0) context.out('(no matching users)');
      return 0;
    },
  },
  {
    name: 'mfa unlock',
    summary: "lift a user's TOTP lock after too many wrong codes",
    help: 'Usage: npm run cli -- mfa unlock USERNAME\n\nClears the lock and the count of wrong codes. A running server sees it within a second.',
    options: {},
    arguments: ['USERNAME'],
    async run(args, context) {
      const { totpAdmin } = await mfaServices(context);
      const user = await userArgument(context, totpAdmin, args.positional[0]);
      if (!user) return 1;
      await totpAdmin.unlock(user.id);
      await auditAdminAction(context, { type: 'mfa.unlock', userId: user.id, username: user.username });
      context.out(`Unlocked ${user.username}.`);
      return 0;
    },
  },
  {
    name: 'mfa reset',
    summary: "remove a user's TOTP registration and backup codes",
    help: 'Usage: npm run cli -- mfa reset USERNAME\n\nThe user sets up an authenticator app again at the next sign-in that needs a second factor.',
    options: {},
    arguments: ['USERNAME'],
    async run(args, context) {
      const { totpAdmin } = await mfaServices(context);
      const user = await userArgument(context, totpAdmin, args.positional[0]);
      if (!user) return 1;
      const removed = await totpAdmin.reset(user.id);
      await auditAdminAction(context, { type: 'mfa.reset', userId: user.id, username: user.username });
      context.out(removed ? `Removed the TOTP registration of ${user.username}.` : `${user.username} had no TOTP registration; counters cleared.`);
      return 0;
    },
  },
  {
    name: 'mfa export',
    summary: 'write every TOTP registration to a password-encrypted file',
    help: `Usage: npm run cli -- mfa export --out FILE --password-file PWFILE [--force]

The file is readable by its owner only (mode 0600); an existing FILE is replaced only with --force.

Encrypts with a key derived from the password (scrypt, AES-256-GCM); at least ${MIN_PASSWORD_LENGTH} characters,
${MIN_DISTINCT_PASSWORD_CHARACTERS} of them different. --password-stdin reads it from a pipe instead.
Backup codes are not exported (their hashes are keyed to this installation): users make new ones.
Audited as mfa.export (success, or failure when the file cannot be written).`,
    options: { out: 'string', force: 'flag', ...PASSWORD_OPTIONS },
    arguments: [],
    async run(args, context) {
      const out = pathOption(args, 'out');
      if (!out) throw new UsageError('--out FILE is required');
      const { text, count } = await exportTotp((await mfaServices(context)).enrollments, readNewExportPassword(args));
      try {
        writePrivateFile(out, text, { overwrite: args.options.force === true });
      } catch (error) {
        if (!(error instanceof FileWriteError)) throw error;
        await auditAdminAction(context, { type: 'mfa.export', outcome: 'failure', file: out, reason: error.message });
        context.err(error.message);
        return 1;
      }
      await auditAdminAction(context, { type: 'mfa.export', file: out, registrations: count });
      context.out(`Exported ${count} TOTP registration${count === 1 ? '' : 's'} to ${out}.`);
      return 0;
    },
  },
  {
    name: 'mfa import',
    summary: 'add TOTP registrations from a file made by mfa export',
    help: `Usage: npm run cli -- mfa import --in FILE --password-file PWFILE [--replace]

Existing registrations are kept (and listed as skipped) unless --replace is given.
--password-stdin reads the password from a pipe instead of --password-file.
A registration of a user id the configured directory does not have is not imported: it is named in a
warning (for LDAP, the directory is asked; if it cannot be, nothing is imported).
Audited as mfa.import (success, or failure with the reason).`,
    options: { in: 'string', replace: 'flag', ...PASSWORD_OPTIONS },
    arguments: [],
    async run(args, context) {
      const file = pathOption(args, 'in');
      if (!file) throw new UsageError('--in FILE is required');
      const text = readTextFile(file, '--in');
      const password = readExportPassword(args);
      const directory = await userExistsHere(context);
      try {
        const { imported, skipped, unknownUsers } = await importTotp((await mfaServices(context)).enrollments, text, password, { replace: args.options.replace === true, userExists: directory.userExists });
        await auditAdminAction(context, { type: 'mfa.import', file, registrations: imported, skipped: skipped.length, unknownUsers: unknownUsers.length });
        if (unknownUsers.length) context.err(`Warning: not imported, no such user here: ${unknownUsers.join(', ')}.`);
        context.out(`Imported ${imported} TOTP registration${imported === 1 ? '' : 's'}.${skipped.length ? ` Skipped (already registered): ${skipped.join(', ')}.` : ''}`);
        return 0;
      } catch (error) {
        // A wrong password may be someone guessing: worth an audit line like any other failure.
        await auditAdminAction(context, { type: 'mfa.import', outcome: 'failure', file, reason: error instanceof EnvelopeError ? 'unreadable' : (error as Error).message });
        context.err(`Import failed: ${(error as Error).message}.`);
        return 1;
      } finally {
        await directory.close();
      }
    },
  },
];
