import type { CliCommand, CliContext, ParsedArgs } from '../command.ts';
import { stringOption, UsageError } from '../command.ts';
import { LocalUserAdmin, UserChangeRefused, type UserChanges } from '../../directory/local-user-admin.ts';
import { readSecretOption } from '../read-secret.ts';
import { Regulator } from '../../regulation/regulator.ts';
import { SessionAdmin } from '../session-admin.ts';
import { auditAdminAction } from '../admin-audit.ts';
import { createDirectory } from '../../build-services.ts';
import { createLogger } from '../../core/log.ts';

/** A local account that can no longer sign in keeps no session either. */
async function endSessionsOf(context: CliContext, userId: string, reason: string): Promise<void> {
  const sessions = await SessionAdmin.open(context);
  const ended = await sessions.list(userId);
  if (ended.length === 0) return;
  await sessions.end(ended, reason);
  context.out(`Ended ${ended.length} SSO session${ended.length === 1 ? '' : 's'}.`);
  for (const line of SessionAdmin.afterEnd(ended)) context.out(line);
}

const COMMON_OPTIONS = `  --name "Full Name"        display name
  --email address           email address
  --group G                 add to group G (comma-separated for several)
  --remove-group G          remove from group G (comma-separated)
  --attribute key=value     free attribute (comma-separated values)
  --must-change             the user must change the password at next sign-in
  --one-time                the account is disabled after its first sign-in
  --expires YYYY-MM-DD      the account cannot sign in after this day ('never' clears it)
  --password-file FILE      set the password from FILE (or --password-stdin)`;

function changesFrom(args: ParsedArgs): UserChanges {
  const list = (name: string) => stringOption(args, name)?.split(',').map((value) => value.trim()).filter(Boolean);
  const attribute = stringOption(args, 'attribute');
  let attributes: Record<string, string[]> | undefined;
  if (attribute) {
    const [key, values] = attribute.split(/=(.*)/s, 2);
    if (!key || values === undefined) throw new UsageError('--attribute takes key=value');
    attributes = { [key]: values.split(',') };
  }
  const expires = stringOption(args, 'expires');
  let expiresAt: number | null | undefined;
  if (expires === 'never') expiresAt = null;
  else if (expires) {
    expiresAt = Date.parse(`${expires}T23:59:59Z`);
    if (Number.isNaN(expiresAt)) throw new UsageError('--expires takes a date YYYY-MM-DD or never');
  }
  return {
    name: stringOption(args, 'name'),
    email: stringOption(args, 'email'),
    addGroups: list('group'),
    removeGroups: list('remove-group'),
    attributes,
    mustChangePassword: args.options['must-change'] === true ? true : undefined,
    oneTimeUse: args.options['one-time'] === true ? true : undefined,
    expiresAt,
  };
}

async function admin(context: CliContext): Promise<LocalUserAdmin> {
  return new LocalUserAdmin(await context.store(), context.config, context.clock);
}

function username(args: ParsedArgs): string {
  const name = args.positional[0];
  if (!name) throw new UsageError('a username is required');
  return name;
}

async function applyPassword(context: CliContext, users: LocalUserAdmin, name: string, password: string | undefined, mustChange: boolean): Promise<number> {
  if (password === undefined) return 0;
  const problem = await users.setPassword(name, password, { mustChange });
  if (problem) {
    context.err(`Password refused: ${problem}`);
    return 1;
  }
  await passwordSet(context, name, mustChange);
  return 0;
}

async function passwordSet(context: CliContext, name: string, mustChange: boolean): Promise<void> {
  context.out(`Password set for ${name}.`);
  await auditAdminAction(context, { type: 'user.set-password', username: name, mustChange });
}

/** The names of the fields an admin command changes, for the audit log (never their values: a password change is its own event). */
function changedFields(changes: UserChanges): string[] {
  return Object.entries(changes).filter(([, value]) => value !== undefined).map(([field]) => field);
}

export const userCommands: CliCommand[] = [
  {
    name: 'user add',
    summary: 'add a local user',
    help: `Usage: npm run cli -- user add <username> [options]\n\nAdds a user to the local directory.\n\nOptions:\n${COMMON_OPTIONS}\n\nExample:\n  npm run cli -- user add alice --name "Alice Doe" --email alice@example.org --group staff --password-file alice.pw`,
    async run(args, context) {
      const password = readSecretOption(args); // read first: a refused option must not leave a half-made user
      const changes = changesFrom(args);
      const mustChange = args.options['must-change'] === true;
      let record;
      try {
        record = await (await admin(context)).add(username(args), changes, password === undefined ? undefined : { password, mustChange });
      } catch (error) {
        if (!(error instanceof UserChangeRefused)) throw error;
        context.err(error.message);
        return 1;
      }
      context.out(`Added ${record.username} (id ${record.id}).`);
      await auditAdminAction(context, { type: 'user.add', username: record.username, userId: record.id, changed: changedFields(changes) });
      if (password !== undefined) await passwordSet(context, record.username, mustChange);
      return 0;
    },
  },
  {
    name: 'user update',
    summary: 'change a local user (name, email, groups, attributes, password)',
    help: `Usage: npm run cli -- user update <username> [options]\n\nOptions:\n${COMMON_OPTIONS}`,
    async run(args, context) {
      const password = readSecretOption(args);
      const changes = changesFrom(args);
      const users = await admin(context);
      const record = await users.update(username(args), changes);
      context.out(`Updated ${record.username}.`);
      await auditAdminAction(context, { type: 'user.update', username: record.username, userId: record.id, changed: changedFields(changes) });
      return applyPassword(context, users, record.username, password, args.options['must-change'] === true);
    },
  },
  {
    name: 'user set-password',
    summary: 'set a local user\'s password',
    help: 'Usage: npm run cli -- user set-password <username> (--password-file FILE | --password-stdin) [--must-change]\n\nThe password must follow the configured password rules.',
    async run(args, context) {
      const password = readSecretOption(args);
      if (password === undefined) throw new UsageError('give --password-file FILE or --password-stdin');
      return applyPassword(context, await admin(context), username(args), password, args.options['must-change'] === true);
    },
  },
  {
    name: 'user disable',
    summary: 'disable a local user',
    help: 'Usage: npm run cli -- user disable <username>\n\nThe user can no longer sign in, and their SSO sessions end now (as with "session end --user").',
    async run(args, context) {
      const record = await (await admin(context)).update(username(args), { disabled: true });
      context.out(`Disabled ${username(args)}.`);
      await auditAdminAction(context, { type: 'user.disable', username: record.username, userId: record.id });
      await endSessionsOf(context, record.id, 'account-disabled');
      return 0;
    },
  },
  {
    name: 'user enable',
    summary: 'enable a disabled local user',
    help: 'Usage: npm run cli -- user enable <username>',
    async run(args, context) {
      const record = await (await admin(context)).update(username(args), { disabled: false });
      context.out(`Enabled ${username(args)}.`);
      await auditAdminAction(context, { type: 'user.enable', username: record.username, userId: record.id });
      return 0;
    },
  },
  {
    name: 'user unlock',
    summary: 'lift a temporary lock after too many wrong passwords',
    help:
      'Usage: npm run cli -- user unlock <username>\n\nClears the failed-password count of this username (any directory, any spelling) and of the account it names (counted over all its login names). A running server sees it within a second.\nLocks also lift by themselves after regulation.lockoutSeconds.',
    async run(args, context) {
      const store = await context.store();
      const login = username(args);
      const directory = await createDirectory(context.config, store, createLogger('error'), context.clock);
      const account = await directory
        .findUser(login)
        .catch(() => undefined)
        .finally(() => directory.close());
      if (account === undefined) context.err(`The ${context.config.directory.kind} directory could not be asked which account "${login}" is: only the name is unlocked.`);
      await new Regulator(store.kv, context.config.regulation, context.clock).unlock(login, account?.id);
      await auditAdminAction(context, { type: 'password.unlock', username: login, ...(account ? { userId: account.id } : {}) });
      context.out(`Unlocked ${login}.`);
      return 0;
    },
  },
  {
    name: 'user list',
    summary: 'list local users',
    help: 'Usage: npm run cli -- user list [--json]',
    async run(args, context) {
      const users = await (await admin(context)).list();
      if (args.options.json) context.out(JSON.stringify(users.map(({ passwordHash, previousPasswordHashes, ...rest }) => rest), null, 2));
      else for (const user of users) context.out(`${user.username.padEnd(24)} ${user.disabled ? 'disabled' : 'active  '} ${user.email ?? ''} [${user.groups.join(', ')}]`);
      return 0;
    },
  },
  {
    name: 'user show',
    summary: 'show one local user',
    help: 'Usage: npm run cli -- user show <username>',
    async run(args, context) {
      const { passwordHash, previousPasswordHashes, ...user } = await (await admin(context)).get(username(args));
      context.out(JSON.stringify({ ...user, hasPassword: !!passwordHash }, null, 2));
      return 0;
    },
  },
  {
    name: 'user remove',
    summary: 'delete a local user',
    help: 'Usage: npm run cli -- user remove <username>\n\nThe user\'s SSO sessions end too (as with "session end --user").',
    async run(args, context) {
      const users = await admin(context);
      const record = await users.get(username(args));
      await users.remove(username(args));
      context.out(`Removed ${username(args)}.`);
      await auditAdminAction(context, { type: 'user.remove', username: record.username, userId: record.id });
      await endSessionsOf(context, record.id, 'account-removed');
      return 0;
    },
  },
];
