import type { CliCommand, CliContext, CommandContext, ParsedArgs } from '../command.ts';
import { stringOption, UsageError } from '../command.ts';
import { UserChangeRefused, type LocalUserAdmin, type NewPassword, type UserChanges } from '../../directory/local-user-admin.ts';
import { quotedGroup, withInvisibleShown } from '../../directory/local-user-rules.ts';
import { PASSWORD_OPTIONS, readNewSecretOption } from '../read-secret.ts';
import { Regulator } from '../../regulation/regulator.ts';
import { SessionAdmin } from '../session-admin.ts';
import { withDirectory } from '../with-directory.ts';
import { auditAdminAction } from '../admin-audit.ts';
import { fieldsChanged } from '../changed-fields.ts';
import { isAttributeName } from '../../core/user-attributes.ts';
import { dayExists } from '../time-option.ts';
import { accountExpired } from '../../directory/account-expiry.ts';
import { accountSignInNames } from '../../directory/account-sign-in-names.ts';
import { namesToUnlock, type NameLeftLocked } from '../../regulation/unlock-names.ts';
import { findLocalUserByName, localUsers, type LocalUserRecord } from '../../directory/local-users.ts';
import { utcEndMinute } from '../../core/utc-minute.ts';

/**
 * A local account that can no longer sign in keeps no session either; nor does one whose password
 * an administrator set: the usual reason is that the old one is known to someone else.
 */
async function endSessionsOf(context: CliContext, user: { id: string; username: string }, reason: string): Promise<void> {
  for (const line of await (await SessionAdmin.open(context)).endSessionsOf(user, reason)) context.out(line);
}

const ADD_OPTIONS = {
  name: 'string',
  email: 'string',
  group: 'list',
  attribute: 'list',
  'must-change': 'flag',
  'one-time': 'flag',
  expires: 'string',
  ...PASSWORD_OPTIONS,
} as const;

/** A new user is in no group and has no expiry yet: removing either is an update's business. */
const CHANGE_OPTIONS = { ...ADD_OPTIONS, 'remove-group': 'list' } as const;

const ADD_HELP = `  --name "Full Name"        display name
  --email address           email address; no other local user may have it as username or email (any case)
  --group G                 add to group G (repeat, or comma-separated, for several); a comma in a
                            name is written \\, and a backslash \\\\ ('Sales\\, EMEA' is one group)
  --attribute key=value     free attribute (comma-separated values; repeat for several attributes)
  --must-change             the user must change the password at next sign-in
  --one-time                the account is disabled after its first sign-in
  --expires YYYY-MM-DD      the account cannot sign in after this day (UTC); a day already past is
                            accepted with a warning
  --password-file FILE      set the password from FILE (line breaks at its end are not part of it)
  --password-stdin          read the password from a pipe instead (not from a terminal)`;

const CHANGE_HELP = `${ADD_HELP}
  --remove-group G          remove from group G (repeat, or comma-separated; \\, and \\\\ as for
                            --group), written in any ASCII case and spacing, as policies compare
                            it; refused if not a member
  --expires never           clear the expiry date`;

/** Every value of every --attribute key=a,b; a key given twice keeps the values of both. */
function attributesFrom(args: ParsedArgs): Record<string, string[]> | undefined {
  const given = args.lists.attribute;
  if (!given) return undefined;
  const attributes: Record<string, string[]> = {};
  for (const attribute of given) {
    const [key, values] = attribute.split(/=(.*)/s, 2);
    if (!key || values === undefined) throw new UsageError(`--attribute takes key=value, not ${JSON.stringify(attribute)}`);
    if (!isAttributeName(key)) throw new UsageError(`--attribute ${JSON.stringify(key)} is not an attribute name (letters, digits and "-", starting with a letter)`);
    attributes[key] = [...(Object.hasOwn(attributes, key) ? attributes[key]! : []), ...values.split(',')];
  }
  return attributes;
}

/**
 * The group names of each --group or --remove-group value: split at its commas, but not at spaces,
 * as a group name may hold spaces ("Sales EMEA") and splitting there would put the user in two other
 * groups, which rules for those names then match. A name may hold a comma too ("Sales, EMEA"),
 * written \, ; a backslash is written \\ . Any other backslash is refused rather than guessed at:
 * a name read some other way than it was meant is a group that policies do not know.
 */
function groupNames(option: string, values: readonly string[]): string[] {
  return values.flatMap((value) => {
    const names: string[] = [];
    let name = '';
    for (let at = 0; at < value.length; at++) {
      const character = value[at]!;
      if (character === ',') {
        names.push(name);
        name = '';
      } else if (character !== '\\') name += character;
      else if (value[at + 1] === ',' || value[at + 1] === '\\') name += value[++at];
      else throw new UsageError(`--${option} "${withInvisibleShown(value)}": a backslash in a group name is written \\\\, and a comma that is part of the name \\, (other commas separate names); in the shell, in single quotes: '${withInvisibleShown(value.replace(/\\([,\\]?)/g, (_, escaped: string) => `\\${escaped || '\\'}`))}' if each backslash is part of a name`);
    }
    return [...names, name].map((each) => each.trim()).filter(Boolean);
  });
}

function changesFrom(args: ParsedArgs): UserChanges {
  const groups = (option: string) => (args.lists[option] === undefined ? undefined : groupNames(option, args.lists[option]));
  const expires = stringOption(args, 'expires');
  let expiresAt: number | null | undefined;
  if (expires === 'never') expiresAt = null;
  else if (expires) {
    // A day that does not exist (2027-02-30) is a typo, not the first days of the next month.
    if (!/^\d{4}-\d{2}-\d{2}$/.test(expires) || !dayExists(expires)) throw new UsageError(`--expires takes a date YYYY-MM-DD that exists, or never (got ${JSON.stringify(expires)})`);
    expiresAt = Date.parse(`${expires}T23:59:59Z`);
  }
  return {
    name: stringOption(args, 'name'),
    email: stringOption(args, 'email'),
    addGroups: groups('group'),
    removeGroups: groups('remove-group'),
    attributes: attributesFrom(args),
    mustChangePassword: args.options['must-change'] === true ? true : undefined,
    oneTimeUse: args.options['one-time'] === true ? true : undefined,
    expiresAt,
  };
}

/** The groups a user is in after the command, each quoted: "Sales, EMEA" shows as one group, and not as two. */
function tellGroups(context: CliContext, record: LocalUserRecord): void {
  context.out(`Groups: ${record.groups.length === 0 ? 'none' : record.groups.map(quotedGroup).join(', ')}`);
}

/** Declared as the one required argument of every command that names a user. */
const username = (args: ParsedArgs): string => args.positional[0]!;

/**
 * Whether the command names a user the local directory does not have, said in one line as mfa and
 * user unlock say it (exit 1), not as a fault ("Error: no local user bob") after the store was opened.
 */
async function unknownUser(context: CliContext, args: ParsedArgs): Promise<boolean> {
  if (await findLocalUserByName(localUsers(await context.store()), username(args))) return false;
  context.err(withInvisibleShown(`No user "${username(args)}" in the local directory.`));
  return true;
}

/** The password the options give, with the --must-change that goes with it. */
function newPassword(args: ParsedArgs): NewPassword | undefined {
  const password = readNewSecretOption(args);
  return password === undefined ? undefined : { password, mustChange: args.options['must-change'] === true };
}

/** A refused change (a name taken, a password the rules refuse) is the admin's answer: say why, exit 1. */
async function refusable(context: CliContext, change: () => Promise<number>): Promise<number> {
  try {
    return await change();
  } catch (error) {
    if (!(error instanceof UserChangeRefused)) throw error;
    context.err(error.message);
    return 1;
  }
}

/** A password an administrator sets replaces one that may be known to someone else: the sessions it opened end too. */
async function passwordSet(context: CliContext, record: { username: string; id: string }, mustChange: boolean): Promise<void> {
  context.out(`Password set for ${record.username}.`);
  await auditAdminAction(context, { type: 'user.set-password', username: record.username, userId: record.id, mustChange });
  await endSessionsOf(context, record, 'password-set');
}

/** The names of the fields an admin command changes, for the audit log (never their values: a new password of an existing user is its own event). */
function changedFields(changes: UserChanges): string[] {
  return Object.entries(changes).filter(([, value]) => value !== undefined).map(([field]) => field);
}

/**
 * A helpdesk lifting a password lock for a user who cannot sign in would otherwise send them back to
 * a second step that is locked as well: a lock of their codes is the other half of the answer.
 */
async function tellCodeLock(context: CommandContext, login: string, account: { id: string; username: string }): Promise<void> {
  const { totpAdmin } = await context.mfa();
  const { status, lockedUntil } = await totpAdmin.statusOf(account);
  if (status !== 'Locked') return;
  const until = lockedUntil == null ? 'an administrator unlocks them' : utcEndMinute(lockedUntil);
  context.out(`${login}'s sign-in codes are also locked until ${until}; run \`npm run cli -- mfa unlock ${login}\` to lift that lock too.`);
}

/**
 * What user unlock cleared, the account's other sign-in names by name: a helpdesk that unlocked
 * "alice" knows then that her email signs in again too.
 */
function unlockedWords(login: string, wasLocked: boolean, otherNames: readonly string[]): string {
  const others = otherNames.length === 0 ? '' : `its other sign-in name${otherNames.length === 1 ? '' : 's'} ${otherNames.join(', ')}`;
  if (wasLocked) return others ? `Unlocked ${login}, and ${others}.` : `Unlocked ${login}.`;
  return `${login} was not locked; the count of wrong passwords is cleared${others ? `, for ${others} too` : ''}.`;
}

/**
 * A count user unlock left, and why: the user may still be refused under that name (from browsers it
 * does not know) until the lock lifts, or the other account is unlocked knowingly.
 */
function leftLockedWords({ name, countedAs, otherAccount }: NameLeftLocked): string {
  return `Left the count of ${countedAs}: it is also the name of another account (${otherAccount}). Sign-ins as ${name} are counted there too; "user unlock ${otherAccount}" clears it.`;
}

/**
 * An expiry date already past is accepted (an account can be meant to expire now), but said: a typo
 * in the year would otherwise leave an account that quietly cannot sign in.
 */
function warnIfExpired(context: CliContext, record: LocalUserRecord, changes: UserChanges): void {
  if (changes.expiresAt == null || !accountExpired(record, context.clock.now())) return;
  const day = new Date(changes.expiresAt).toISOString().slice(0, 10);
  context.err(`Warning: the expiry date ${day} is already past, so ${record.username} cannot sign in. To let them, give a later date or --expires never.`);
}

/** A local user's record as an administrator reads it (user show, user list --json): no password hashes, times in ISO 8601 (UTC) rather than epoch ms. */
function shownUser({ passwordHash, previousPasswordHashes, ...user }: LocalUserRecord) {
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  return { ...user, createdAt: iso(user.createdAt), passwordChangedAt: iso(user.passwordChangedAt), expiresAt: iso(user.expiresAt), hasPassword: !!passwordHash };
}

/**
 * Users an older version let share a sign-in name (the same address with "é" encoded two ways): the
 * name signs in one of them only, so the admin is told which, and how to end it.
 */
async function tellSharedNames(context: CliContext, users: LocalUserAdmin): Promise<void> {
  const shared = await users.sharedNames();
  if (shared.length === 0) return;
  context.out('');
  context.out('Sign-in names shared by several users (an older version allowed it): signing in with one reaches the first user named, never the others.');
  context.out('Give the others another email (user update USERNAME --email ADDRESS), or remove them:');
  for (const { name, users: sharing } of shared) context.out(withInvisibleShown(`  "${name}": ${sharing.map((user) => user.username).join(', ')}`));
}

export const userCommands: CliCommand[] = [
  {
    name: 'user add',
    summary: 'add a local user',
    help: `Usage: npm run cli -- user add <username> [options]\n\nAdds a user to the local directory. Everything is checked first: a refused option, name, email or password adds no user.\n\nOptions:\n${ADD_HELP}\n\nExample:\n  npm run cli -- user add alice --name "Alice Doe" --email alice@example.org --group staff --password-file alice.pw`,
    options: ADD_OPTIONS,
    arguments: ['<username>'],
    async run(args, context) {
      const password = newPassword(args); // read first: a refused option must not leave a half-made user
      const changes = changesFrom(args);
      return refusable(context, async () => {
        const record = await (await context.localUsers()).add(username(args), changes, password);
        context.out(`Added ${record.username} (id ${record.id}).`);
        tellGroups(context, record);
        warnIfExpired(context, record, changes);
        // One event, with "password" among the fields: a first password is no reset (user.set-password lists those for the helpdesk), and a new account has no sessions to end.
        await auditAdminAction(context, { type: 'user.add', username: record.username, userId: record.id, changed: [...changedFields(changes), ...(password ? ['password'] : [])] });
        return 0;
      });
    },
  },
  {
    name: 'user update',
    summary: 'change a local user (name, email, groups, attributes, password)',
    help: `Usage: npm run cli -- user update <username> [options]\n\nEverything is checked first, the password included: a refused update changes nothing.\nA new password ends the user's SSO sessions (as with "session end --user").\n\nOptions:\n${CHANGE_HELP}`,
    options: CHANGE_OPTIONS,
    arguments: ['<username>'],
    async run(args, context) {
      const password = newPassword(args);
      const changes = changesFrom(args);
      if (await unknownUser(context, args)) return 1;
      return refusable(context, async () => {
        const users = await context.localUsers();
        const before = await users.get(username(args));
        const record = await users.update(username(args), changes, password);
        const changed = fieldsChanged(changedFields(changes), before, record, {
          addGroups: (user) => user.groups.filter((group) => !before.groups.includes(group)),
          removeGroups: (user) => before.groups.filter((group) => !user.groups.includes(group)),
        });
        // A new password is its own event (user.set-password); the other fields given may all have had their values already.
        if (changed.length > 0) context.out(`Updated ${record.username}.`);
        else if (!password) context.out(`${record.username} has those values already; nothing changed.`);
        tellGroups(context, record);
        warnIfExpired(context, record, changes);
        if (changed.length > 0) await auditAdminAction(context, { type: 'user.update', username: record.username, userId: record.id, changed });
        if (password) await passwordSet(context, record, password.mustChange);
        return 0;
      });
    },
  },
  {
    name: 'user set-password',
    summary: 'set a local user\'s password',
    help: 'Usage: npm run cli -- user set-password <username> (--password-file FILE | --password-stdin) [--must-change]\n\nThe password must follow the configured password rules. Line breaks at the end of the file are not part of it; --password-stdin reads a pipe, not a terminal.\nThe user\'s SSO sessions end (as with "session end --user"): whoever knew the old password is signed out too.',
    options: { ...PASSWORD_OPTIONS, 'must-change': 'flag' },
    arguments: ['<username>'],
    async run(args, context) {
      const password = newPassword(args);
      if (!password) throw new UsageError('give --password-file FILE or --password-stdin');
      if (await unknownUser(context, args)) return 1;
      return refusable(context, async () => {
        const record = await (await context.localUsers()).update(username(args), {}, password);
        await passwordSet(context, record, password.mustChange);
        return 0;
      });
    },
  },
  {
    name: 'user disable',
    summary: 'disable a local user',
    help: 'Usage: npm run cli -- user disable <username>\n\nThe user can no longer sign in, and their SSO sessions end now (as with "session end --user").',
    options: {},
    arguments: ['<username>'],
    async run(args, context) {
      if (await unknownUser(context, args)) return 1;
      const users = await context.localUsers();
      // Run twice (a script, a second helpdesk agent), it says so rather than "Disabled", and writes no second user.disable for a change not made.
      const current = await users.get(username(args));
      const already = current.disabled;
      const record = already ? current : await users.update(username(args), { disabled: true });
      context.out(already ? `${username(args)} was disabled already; nothing changed.` : `Disabled ${username(args)}.`);
      if (!already) await auditAdminAction(context, { type: 'user.disable', username: record.username, userId: record.id });
      await endSessionsOf(context, record, 'account-disabled');
      return 0;
    },
  },
  {
    name: 'user enable',
    summary: 'enable a disabled local user',
    help: 'Usage: npm run cli -- user enable <username>',
    options: {},
    arguments: ['<username>'],
    async run(args, context) {
      if (await unknownUser(context, args)) return 1;
      const users = await context.localUsers();
      if (!(await users.get(username(args))).disabled) {
        context.out(`${username(args)} was enabled already; nothing changed.`);
        return 0;
      }
      const record = await users.update(username(args), { disabled: false });
      context.out(`Enabled ${username(args)}.`);
      await auditAdminAction(context, { type: 'user.enable', username: record.username, userId: record.id });
      return 0;
    },
  },
  {
    name: 'user unlock',
    summary: 'lift a temporary lock after too many wrong passwords',
    help:
      'Usage: npm run cli -- user unlock <username>\n\nClears the failed-password count of this username (any directory, any spelling), of the account it names (counted over all its login names), and of each other name that account signs in with (a local user\'s email; an LDAP entry\'s values of users.usernameAttribute, of the attributes users.filter compares with the login, and of users.alternateLoginAttributes); it names those it cleared. A name is counted under its part before the @, so one that is counted under another account\'s name (jdoe\'s email admin@corp.example, under user admin) is left, and named. A name the directory does not have and that is not locked (a typo) is refused with exit 1, and nothing is changed. A running server sees it within a second.\nLocks also lift by themselves after regulation.lockoutSeconds. A lock of the user\'s sign-in codes is not lifted (mfa unlock does that): it is named when there is one.',
    options: {},
    arguments: ['<username>'],
    async run(args, context) {
      const store = await context.store();
      const login = username(args);
      const found = await withDirectory(context, async (directory) => {
        const account = await directory.findUser(login);
        const names = account ? await namesToUnlock(login, account, accountSignInNames(account, context.config.directory), (name) => directory.findUser(name)) : { cleared: [], left: [] };
        return { account, names };
      }).catch(() => undefined);
      if (found === undefined) context.err(`The ${context.config.directory.kind} directory could not be asked which account "${login}" is: only the name is unlocked.`);
      const account = found?.account;
      const names = found?.names ?? { cleared: [], left: [] };
      const regulator = new Regulator(store.kv, context.config.regulation, context.clock);
      // A typo ("bobb" for "bob") must not read as done: the helpdesk would tell the user to try again while bob stays locked.
      // A name no account has is still unlocked when it is locked (guesses at a name that does not exist lock it too).
      if (found !== undefined && !account && (await regulator.lockedUntil({ login })) === undefined) {
        context.err(withInvisibleShown(`No user "${login}" in the ${context.config.directory.kind} directory, and no lock on that name: nothing was changed. Check the spelling.`));
        return 1;
      }
      const { wasLocked, otherNamesCleared } = await regulator.unlock(login, account?.id, names.cleared);
      // Named by the account, as every other change to it is, or `audit --user <username>` misses an
      // unlock typed as an email or DOMAIN\user; the name typed (its own count was cleared too) stays as login.
      const who = account ? { username: account.username, userId: account.id, ...(login !== account.username ? { login } : {}) } : { username: login };
      await auditAdminAction(context, { type: 'password.unlock', ...who, wasLocked });
      context.out(withInvisibleShown(unlockedWords(login, wasLocked, otherNamesCleared)));
      for (const left of names.left) context.out(withInvisibleShown(leftLockedWords(left)));
      if (account) await tellCodeLock(context, login, account);
      return 0;
    },
  },
  {
    name: 'user list',
    summary: 'list local users',
    help: 'Usage: npm run cli -- user list [--json]\n\nEach user\'s status is active, disabled, or expired (past the --expires date). --json gives each user as user show does (times in ISO 8601, UTC).\nInvisible and text-direction characters (which an older version accepted in emails and names) are shown as \\uXXXX. Below the users: sign-in names that several users share, if an older version let them.',
    options: { json: 'flag' },
    arguments: [],
    async run(args, context) {
      const users = await context.localUsers();
      const listed = await users.list();
      const now = context.clock.now();
      const status = (user: LocalUserRecord) => (user.disabled ? 'disabled' : accountExpired(user, now) ? 'expired' : 'active');
      if (args.options.json) context.out(withInvisibleShown(JSON.stringify(listed.map(shownUser), null, 2)));
      else for (const user of listed) context.out(withInvisibleShown(`${user.username.padEnd(24)} ${status(user).padEnd(8)} ${user.email ?? ''} [${user.groups.map(quotedGroup).join(', ')}]`));
      if (!args.options.json) await tellSharedNames(context, users);
      return 0;
    },
  },
  {
    name: 'user show',
    summary: 'show one local user',
    help: 'Usage: npm run cli -- user show <username>\n\nTimes (createdAt, passwordChangedAt, expiresAt) are ISO 8601, in UTC.',
    options: {},
    arguments: ['<username>'],
    async run(args, context) {
      if (await unknownUser(context, args)) return 1;
      context.out(withInvisibleShown(JSON.stringify(shownUser(await (await context.localUsers()).get(username(args))), null, 2)));
      return 0;
    },
  },
  {
    name: 'user remove',
    summary: 'delete a local user',
    help: 'Usage: npm run cli -- user remove <username>\n\nThe user\'s SSO sessions end too (as with "session end --user"), and their TOTP registration, backup codes and TOTP counters are removed (as with "mfa reset").',
    options: {},
    arguments: ['<username>'],
    async run(args, context) {
      if (await unknownUser(context, args)) return 1;
      const users = await context.localUsers();
      const record = await users.get(username(args));
      await users.remove(username(args));
      // Left behind, the registration would still be listed as the removed user's, and a new user of the same name would inherit it in mfa reset.
      await (await context.mfa()).totpAdmin.reset(record.id);
      context.out(`Removed ${username(args)}.`);
      await auditAdminAction(context, { type: 'user.remove', username: record.username, userId: record.id });
      await endSessionsOf(context, record, 'account-removed');
      return 0;
    },
  },
];
