import type { CliCommand, CliContext, CommandContext, ParsedArgs } from '../command.ts';
import { pathOption, UsageError } from '../command.ts';
import { MIN_DISTINCT_PASSWORD_CHARACTERS, PASSWORD_OPTIONS, readExportPassword, readNewExportPassword } from '../read-secret.ts';
import { checkWritable, writePrivateFile } from '../write-private-file.ts';
import { exportWriteRefusal } from '../export-file.ts';
import { FamiliarDeviceRegister } from '../../regulation/familiar-device-register.ts';
import { terminalSafe } from '../../core/terminal-text.ts';
import { InputFileError, readInputFile } from '../read-input-file.ts';
import { SessionAdmin } from '../session-admin.ts';
import { EnvelopeError, MIN_PASSWORD_LENGTH } from '../../core/password-envelope.ts';
import type { AuditEvent } from '../../store/store.ts';
import type { TransferContext } from '../../config-transfer/record-transfer.ts';
import { exportConfiguration, type RecordCounts, type RestoreFindings } from '../../config-transfer/config-export.ts';
import { planChanges, planImport, plannedRecordName, type ImportAction, type ImportOptions, type ImportPlan } from '../../config-transfer/config-import.ts';
import { auditAdminAction } from '../admin-audit.ts';
import { configFilePath } from '../../config/load.ts';
import { warnOfContradictoryDurations } from '../../config/duration-warnings.ts';
import { LowdbStore } from '../../store/lowdb-store.ts';
import { builtInPoliciesOnly, checkConfiguredPolicies } from '../../policy/build-policies.ts';

const CONTENTS = `The file holds the SAML service providers, OIDC clients (with their secrets), custom access
policies, signing keys (with their private keys) and local users (with their password hashes),
encrypted with a key derived from the password (scrypt, AES-256-GCM; at least ${MIN_PASSWORD_LENGTH} characters).
Not in it: MFA registrations (use mfa export / mfa import), the settings of the config file
(stepgate.config.json: directory, trusted networks, timeouts ...; copy that file yourself), the secret
key, sessions and sign-in state, the audit log and the administrator bootstrap.`;

async function transferContext(context: CommandContext): Promise<TransferContext> {
  return { config: context.config, store: await context.store(), box: context.box(), clock: context.clock, policies: await context.policies(), clients: await context.clients(), serviceProviders: await context.serviceProviders() };
}

function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}

function describeCounts(counts: RecordCounts): string {
  return [plural(counts.samlServiceProviders, 'SAML SP'), plural(counts.oidcClients, 'OIDC client'), plural(counts.policies, 'custom policy', 'custom policies'), plural(counts.signingKeys, 'signing key'), plural(counts.localUsers, 'local user')].join(', ');
}

function summary(plan: ImportPlan): string {
  const total = (action: ImportAction) => plan.records.filter((record) => record.action === action).length;
  const retired = plan.retiredKeys.length ? `, ${plural(plan.retiredKeys.length, 'signing key')} of this installation retired` : '';
  return `${total('add')} added, ${total('replace')} replaced, ${total('unchanged')} unchanged${retired}`;
}

/** Ids and names in the plan come from the file: a control character in one must not act on the admin's terminal. */
function printPlan(context: CliContext, plan: ImportPlan): void {
  for (const record of plan.records) context.out(terminalSafe(`  ${record.action.padEnd(10)} ${plannedRecordName(record)}${record.note ? ` ${record.note}` : ''}${record.differences ? `: ${record.differences.join('; ')}` : ''}`));
  for (const key of plan.retiredKeys) context.out(`  ${'retire'.padEnd(10)} signing key ${key.id} (${key.alg}) of this installation: ${key.status} here; then retired: published for verification only, never signs`);
  for (const warning of [...plan.warnings, ...plan.outdated]) context.out(terminalSafe(`Warning: ${warning}`));
}

/**
 * Told at export, while the records can still be fixed where they are stored: found only when the
 * file is imported, they would stand between the admin and a restore.
 */
function tellRestoreFindings(context: CliContext, restore: RestoreFindings): void {
  if (restore.refused.length) {
    context.err(
      [
        'Warning: config import would refuse this file, even into a new data directory, because of these records (the file was written all the same):',
        ...restore.refused.map((item) => `  - ${item}`),
        'Fix them here, then export again: a policy with `policy set --file FILE` (`policy show NAME` prints its definition), a local user as the line says.',
      ].join('\n'),
    );
  }
  if (restore.outdated.length) context.err(['Warning: config import would accept these records only as an earlier version saved them; fix them here:', ...restore.outdated.map((item) => `  - ${item}`)].join('\n'));
}

const REPLACE_NEEDED = 'it would change these records of this installation; give --replace to replace them:';
const REMOVED_KEYS_NEED_A_CHOICE = 'it holds signing keys this installation removed (keys remove); give --skip-removed-keys to import the rest without them, or --restore-removed-keys to publish them again (retired: for verification only):';

/** One reason an import as typed is refused, with the records it names. */
interface Refusal {
  reason: 'conflicts' | 'removed-keys';
  message: string;
  items: string[];
}

/** What keeps the import as typed from being written: records it would change without --replace, removed keys without a choice. */
function refusalsOf(plan: ImportPlan, replace: boolean): Refusal[] {
  const refusals: Refusal[] = [];
  if (plan.conflicts.length > 0 && !replace) refusals.push({ reason: 'conflicts', message: REPLACE_NEEDED, items: plan.conflicts });
  if (plan.removedKeys.length > 0) refusals.push({ reason: 'removed-keys', message: REMOVED_KEYS_NEED_A_CHOICE, items: plan.removedKeys });
  return refusals;
}

function refusalLines(refusals: readonly Refusal[]): string {
  return refusals.flatMap(({ message, items }, index) => [index === 0 ? message : `And ${message}`, ...items.map((item) => `  - ${terminalSafe(item)}`)]).join('\n');
}

/** What a replaced password or a disabled account means for its user's sessions, said before the import ends them. */
function sessionsToEnd(plan: ImportPlan): string[] {
  const names = (users: ImportPlan['passwordsChanged']) => users.map((user) => terminalSafe(user.username)).join(', ');
  return [
    ...(plan.passwordsChanged.length ? [`The import ends the SSO sessions of ${plural(plan.passwordsChanged.length, 'user')} whose password it changes (as user set-password does): ${names(plan.passwordsChanged)}.`] : []),
    ...(plan.disabledNow.length ? [`The import ends the SSO sessions of ${plural(plan.disabledNow.length, 'user')} it disables (as user disable does): ${names(plan.disabledNow)}.`] : []),
  ];
}

/** A refused import changes nothing but is still worth an audit line: a wrong password may be someone guessing. */
async function refuse(context: CliContext, event: Omit<AuditEvent, 'type' | 'outcome'>, message: string, items: string[] = []): Promise<number> {
  await auditAdminAction(context, { type: 'config.import', outcome: 'failure', ...event });
  context.err([`The configuration was not imported (nothing was changed): ${message}`, ...items.map((item) => `  - ${terminalSafe(item)}`)].join('\n'));
  return 1;
}

/** --skip-removed-keys or --restore-removed-keys: what becomes of keys of the file that this installation removed. */
function removedKeysChoice(args: ParsedArgs): ImportOptions['removedKeys'] {
  const skip = args.options['skip-removed-keys'] === true;
  const restore = args.options['restore-removed-keys'] === true;
  if (skip && restore) throw new UsageError('give --skip-removed-keys or --restore-removed-keys, not both');
  return skip ? 'skip' : restore ? 'restore' : 'refuse';
}

export const configCommands: CliCommand[] = [
  {
    name: 'config validate',
    summary: 'check the configuration as the server does before it starts, without starting it',
    help: `Usage: npm run cli -- config validate

Reads the configuration the server would read (STEPGATE_CONFIG or ./stepgate.config.json, and the
environment) and makes the checks the server makes before it starts: every key against the schema
(all problems at once, each with its key), the secret key against the data directory's secrets, and
the policies that policies.default and policies.account name (built in, or saved with policy set).
Exit 0 when the server would start with it; 2, with every problem named, when it would not.
A data directory that does not exist yet is not created. The directory server is not contacted:
directory test does that.`,
    options: {},
    arguments: [],
    async run(_args, context) {
      const { config } = context;
      const file = configFilePath();
      // A new data directory is left unmade (opening the store would make it, and a key in it): only
      // built-in policies can be named there.
      if (LowdbStore.isFresh(config.dataDir)) await checkConfiguredPolicies(config, builtInPoliciesOnly());
      else await checkConfiguredPolicies(config, await context.policies());
      warnOfContradictoryDurations(config, { warn: (_fields, message) => context.err(`Warning: ${message}`) });
      context.out(`The configuration is valid${file ? ` (${file})` : ' (no file: defaults and the environment)'}: directory ${config.directory.kind}, data directory ${config.dataDir}.`);
      context.out('The directory server was not contacted: npm run cli -- directory test does that.');
      return 0;
    },
  },
  {
    name: 'config export',
    summary: 'write the configuration (SPs, clients, policies, keys, local users) to a password-encrypted file',
    help: `Usage: npm run cli -- config export --out FILE --password-file PWFILE [--force] [--quiet]

${CONTENTS}

The password must have at least ${MIN_DISTINCT_PASSWORD_CHARACTERS} different characters.
The file is written readable by its owner only (mode 0600). An existing FILE is kept unless --force.
--password-stdin reads the password from a pipe instead. --quiet prints nothing on success.

The file is then checked as config import would check it on a new data directory with this
configuration. Records it would refuse (then it imports nothing), and records it accepts only as an
earlier version saved them, are listed on stderr with the command that fixes each, also with --quiet;
the file is written all the same (exit 0). Fix them here and export again.
Audited as config.export (success, or failure when the file cannot be written).`,
    options: { out: 'string', force: 'flag', quiet: 'flag', ...PASSWORD_OPTIONS },
    arguments: [],
    async run(args, context) {
      const out = pathOption(args, 'out');
      if (!out) throw new UsageError('--out FILE is required');
      const password = readNewExportPassword(args);
      const overwrite = args.options.force === true;
      // Checked before the work, and again by the write itself (a file may appear meanwhile).
      const refused = await exportWriteRefusal(context, 'config.export', out, () => checkWritable(out, { overwrite }));
      if (refused) return refused;
      const transfer = await transferContext(context);
      const { text, counts, restore } = await exportConfiguration(transfer, password);
      const failed = await exportWriteRefusal(context, 'config.export', out, () => writePrivateFile(out, text, { overwrite }));
      if (failed) return failed;
      await auditAdminAction(context, { type: 'config.export', file: out, ...counts });
      if (args.options.quiet !== true) context.out(`Exported ${describeCounts(counts)} to ${out}.`);
      tellRestoreFindings(context, restore);
      return 0;
    },
  },
  {
    name: 'config import',
    summary: 'add the configuration from a file made by config export (all of it or nothing)',
    help: `Usage: npm run cli -- config import --in FILE --password-file PWFILE [--replace] [--activate-imported-keys]
       [--skip-removed-keys | --restore-removed-keys] [--dry-run] [--quiet]

${CONTENTS}

Everything in the file is checked before anything is written, as if an admin entered it here: SAML
metadata, redirect URIs, policies (against this installation's trusted networks), policy names that
SPs and clients use (in the file or here), keys, password hashes. Any problem refuses the whole
import, and then nothing is written; otherwise everything is written in one step. Policies and local
users as an earlier version saved them, which policy set and user add refuse today (a rule never
reached, an invisible character in an email ...), come in as they are, with a warning naming the
command that fixes each.
Secrets (client secrets, private keys) are sealed with this installation's secret key.

A record whose id exists here with the same content is left as is. One with different content is
refused, and listed, unless --replace is given: then the file's version replaces it.
Signing keys keep their status, so relying parties need no change. This installation's active (or
waiting) key of an algorithm the file brings one for would be retired (still published in the
JWKS): that also needs --replace. A fresh installation made its own keys at first start, so
importing into it needs --replace.
An imported key never signs again here on its own where this installation moved on: a key retired
here stays retired, and while an active key an admin chose here (keys activate) signs and the file
does not retire it, the file's keys of that algorithm come in retired (published for verification
only) and this installation's key goes on signing. --activate-imported-keys gives them the file's
status instead. Each key's line says its status in the file and what it will be here.
Persistent SAML NameIDs are derived from the secret key: with another secret key than the
exporting installation's, SPs see other NameIDs for the same users (the import warns).

A local user whose password the import replaces has their SSO sessions ended, as user set-password
ends them (the output says how many; each is audited as session.ended, reason password-imported).

A signing key this installation removed (keys remove: often one that was exposed) is remembered: a
file that holds it is refused, as importing it publishes it again for verification, unless
--skip-removed-keys (the rest is imported without it) or --restore-removed-keys (it comes back
retired; with --activate-imported-keys, with the file's status).

--dry-run   checks everything and prints what would be added, replaced, left unchanged or retired;
            writes nothing. It exits 1 when the same command without --dry-run would be refused,
            after the plan and the records that need --replace (or a choice about removed keys).
--quiet     prints nothing on success
--password-stdin reads the password from a pipe instead.`,
    options: { in: 'string', replace: 'flag', 'activate-imported-keys': 'flag', 'skip-removed-keys': 'flag', 'restore-removed-keys': 'flag', 'dry-run': 'flag', quiet: 'flag', ...PASSWORD_OPTIONS },
    arguments: [],
    async run(args, context) {
      const file = pathOption(args, 'in');
      if (!file) throw new UsageError('--in FILE is required');
      const password = readExportPassword(args);
      const replace = args.options.replace === true;
      const dryRun = args.options['dry-run'] === true;
      const activateImportedKeys = args.options['activate-imported-keys'] === true;
      const removedKeys = removedKeysChoice(args);
      const quiet = args.options.quiet === true;
      let text: string;
      try {
        text = readInputFile(file);
      } catch (error) {
        if (!(error instanceof InputFileError)) throw error;
        context.err(`The configuration was not imported (nothing was changed): ${error.message}.`);
        return 1;
      }
      const transfer = await transferContext(context);
      let plan: ImportPlan;
      try {
        plan = await planImport(transfer, text, password, { activateImportedKeys, removedKeys });
      } catch (error) {
        if (!(error instanceof EnvelopeError)) throw error;
        return refuse(context, { reason: 'unreadable', file }, `${error.message}.`);
      }
      if (plan.problems.length) return refuse(context, { reason: 'invalid', file, problems: plan.problems.length }, 'the file has these problems:', plan.problems);
      const refusals = refusalsOf(plan, replace);
      const refusedForConflicts = refusals.some((refusal) => refusal.reason === 'conflicts');
      const flags = { ...(activateImportedKeys ? { activateImportedKeys } : {}), ...(removedKeys === 'refuse' ? {} : { removedKeys }) };
      const counts = { ...(refusedForConflicts ? { conflicts: plan.conflicts.length } : {}), ...(plan.removedKeys.length ? { removedKeys: plan.removedKeys.length } : {}) };
      const changes = planChanges(plan);
      if (dryRun) {
        // The whole plan first: on a fresh installation the conflicts are its own keys, and what the file brings is the point.
        if (!quiet) printPlan(context, plan);
        await auditAdminAction(context, { type: 'config.import', outcome: 'info', reason: 'dry-run', file, ...flags, ...changes, ...counts });
        if (refusals.length) {
          context.err([`Dry run: nothing was written. Without --dry-run the import would be refused: ${refusalLines(refusals)}`, ...(refusedForConflicts ? [`With --replace: ${summary(plan)}.`] : [])].join('\n'));
          return 1;
        }
        if (!quiet) for (const line of [...sessionsToEnd(plan), `Dry run: nothing was written. Without --dry-run: ${summary(plan)}.`]) context.out(line);
        return 0;
      }
      if (refusals.length) return refuse(context, { reason: refusals[0]!.reason, file, ...counts }, refusalLines(refusals));
      if (plan.writes.length) await transfer.store.putAll(plan.writes);
      await auditAdminAction(context, { type: 'config.import', file, ...flags, ...changes });
      // As user set-password: whoever knew the password it replaced is signed out too, and their browsers are strangers again.
      const devices = new FamiliarDeviceRegister(transfer.store.kv);
      for (const user of plan.passwordsChanged) await devices.forget(user.id);
      const sessions = await SessionAdmin.open(context);
      const ended = [
        ...(await sessions.endSessionsAfterImport(plan.passwordsChanged, 'whose password the import changed', 'password-imported')),
        // As user disable: a disabled account's sessions end now, and its relying parties are told.
        ...(await sessions.endSessionsAfterImport(plan.disabledNow, 'whom the import disabled', 'account-disabled')),
      ];
      if (!quiet) {
        printPlan(context, plan);
        context.out(`Imported: ${summary(plan)}.`);
        for (const line of ended) context.out(line);
      }
      return 0;
    },
  },
];
