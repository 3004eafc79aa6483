import { z } from 'zod';
import { LOCAL_USERS_COLLECTION, localUsers, type LocalUserRecord } from '../directory/local-users.ts';
import { INVISIBLE_CHARACTER } from '../core/invisible-characters.ts';
import { emailProblem, groupProblem, nameProblem, quotedGroup, sharedSignInNames, usernameProblem, withInvisibleShown } from '../directory/local-user-rules.ts';
import { isPasswordHash } from '../directory/password-hash.ts';
import { ACCEPTED_SCRYPT_SETTINGS, scryptSettingsAccepted } from '../core/password-envelope.ts';
import { PREVIOUS_PASSWORDS_KEPT } from '../directory/local-directory.ts';
import { safeEqual } from '../core/secret-box.ts';
import { timestampSchema, type RecordTransfer, type TransferContext } from './record-transfer.ts';

/** A local user as stored: the scrypt hashes carry their own salt and parameters, so they work on any installation. */
const exportedUserSchema = z.strictObject({
  id: z.string().min(1).max(256),
  username: z.string(),
  name: z.string().optional(),
  email: z.string().optional(),
  groups: z.array(z.string()),
  attributes: z.record(z.string(), z.array(z.string())),
  passwordHash: z.string().optional(),
  previousPasswordHashes: z.array(z.string()),
  passwordChangedAt: timestampSchema.optional(),
  mustChangePassword: z.boolean(),
  disabled: z.boolean(),
  expiresAt: timestampSchema.optional(),
  oneTimeUse: z.boolean(),
  createdAt: timestampSchema,
});

export function localUserTransfer(context: TransferContext): RecordTransfer<LocalUserRecord, LocalUserRecord> {
  const users = localUsers(context.store);
  return {
    noun: 'local user',
    collection: LOCAL_USERS_COLLECTION,
    schema: exportedUserSchema,
    list: () => users.list(),
    exported: (user) => user,
    username: (user) => user.username,
    differences: userDifferences,
    admit(user) {
      // Stored as user add stores it: an older version may have exported an address in another encoding (NFD).
      const email = user.email?.normalize('NFC');
      const found: Findings = { problems: [usernameProblem(user.username)].filter((problem) => problem !== undefined), outdated: [] };
      if (email !== undefined) sortProblem(emailProblem, email, `user update ${user.username} --email ADDRESS`, found);
      if (user.name !== undefined) sortProblem(nameProblem, user.name, `user update ${user.username} --name NAME`, found);
      // Every earlier version took any group name: such a user comes in as saved, and the group can be removed.
      for (const problem of user.groups.map(groupProblem).filter((each) => each !== undefined)) found.outdated.push(`${problem} (accepted: an earlier version allowed this; fix it with \`user update ${user.username} --remove-group GROUP\`, and --group with the name as a policy names it)`);
      const { problems, outdated } = found;
      const hashes = [...(user.passwordHash === undefined ? [] : [user.passwordHash]), ...user.previousPasswordHashes];
      // Every password change checks the new password against each old hash (0.15 s of a password slot
      // each): a file with thousands held a slot for minutes at every attempt. No version kept more.
      if (user.previousPasswordHashes.length > PREVIOUS_PASSWORDS_KEPT) {
        problems.push(`a password history of ${user.previousPasswordHashes.length} hashes; Stepgate keeps the last ${PREVIOUS_PASSWORDS_KEPT} (each is checked at every password change)`);
      }
      if (!hashes.every(isPasswordHash)) problems.push('a password hash is not a Stepgate scrypt hash');
      else {
        const refused = hashes.map(scryptSettingsOf).find((settings) => !scryptSettingsAccepted(settings));
        if (refused) problems.push(`a password hash names scrypt settings Stepgate does not accept (N=${refused.N}, r=${refused.r}, p=${refused.p}; it accepts ${ACCEPTED_SCRYPT_SETTINGS})`);
      }
      return problems.length ? { ok: false, problems } : { ok: true, record: email === undefined ? user : { ...user, email }, warnings: [], outdated };
    },
  };
}

/** `scrypt$N$r$p$salt$hash`, a shape isPasswordHash has checked. */
function scryptSettingsOf(hash: string): { N: number; r: number; p: number } {
  const [, N, r, p] = hash.split('$').map(Number);
  return { N: N!, r: r!, p: p! };
}

/**
 * What replacing a local user here with the file's changes, in the terms of the user commands: an
 * import that re-enables an account, puts back an old password or adds a group shows it before it
 * is done (the dry run, the conflicts). Hashes are compared in constant time and never shown.
 */
export function userDifferences(here: LocalUserRecord, fromFile: LocalUserRecord): string[] {
  const differences: string[] = [];
  const onlyWhere = (inFile: boolean) => (inFile ? 'in the file, not here' : 'here, not in the file');
  if (here.username !== fromFile.username) differences.push(`username ${here.username} here`);
  if (here.disabled !== fromFile.disabled) differences.push(here.disabled ? 'disabled here, enabled in the file' : 'enabled here, disabled in the file');
  if (passwordChanged(here, fromFile)) differences.push(fromFile.passwordHash === undefined ? 'no password in the file' : here.passwordHash === undefined ? 'no password here' : 'another password');
  else if (!sameHashes(here.previousPasswordHashes, fromFile.previousPasswordHashes) || here.passwordChangedAt !== fromFile.passwordChangedAt) differences.push('another password history');
  if (here.mustChangePassword !== fromFile.mustChangePassword) differences.push(`must change the password ${onlyWhere(fromFile.mustChangePassword)}`);
  if (here.oneTimeUse !== fromFile.oneTimeUse) differences.push(`one-time account ${onlyWhere(fromFile.oneTimeUse)}`);
  if (here.expiresAt !== fromFile.expiresAt) differences.push(`expires ${expiryDay(here.expiresAt)} here, ${expiryDay(fromFile.expiresAt)} in the file`);
  if (here.groups.join('\n') !== fromFile.groups.join('\n')) differences.push(`groups [${here.groups.map(quotedGroup).join(', ')}] here, [${fromFile.groups.map(quotedGroup).join(', ')}] in the file`);
  if (here.name !== fromFile.name) differences.push('another name');
  if (here.email !== fromFile.email) differences.push('another email');
  if (sortedJson(here.attributes) !== sortedJson(fromFile.attributes)) differences.push('other attributes');
  return differences;
}

/** Whether replacing the user here with the file's sets another password (or none): the sessions it opened end, as after `user set-password`. */
export function passwordChanged(here: LocalUserRecord, fromFile: LocalUserRecord): boolean {
  return !sameHashes([here.passwordHash ?? ''], [fromFile.passwordHash ?? '']);
}

function sameHashes(here: readonly string[], fromFile: readonly string[]): boolean {
  return safeEqual(JSON.stringify(here), JSON.stringify(fromFile));
}

function expiryDay(expiresAt: number | undefined): string {
  return expiresAt === undefined ? 'never' : new Date(expiresAt).toISOString().slice(0, 10);
}

function sortedJson(attributes: Record<string, string[]>): string {
  return JSON.stringify(Object.entries(attributes).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)));
}

interface Findings {
  problems: string[];
  outdated: string[];
}

/**
 * One of user add's checks, as an import applies it. What an earlier version let in and only today's
 * checks refuse (invisible characters in an email, direction overrides in a name: the value passes
 * without its format characters) is outdated: such a user signed in there, and comes in as saved,
 * with the command that brings the record up to date. Anything else is a problem.
 */
function sortProblem(problemOf: (value: string) => string | undefined, value: string, fix: string, found: Findings): void {
  const problem = problemOf(value);
  if (problem === undefined) return;
  if (problemOf(value.replace(INVISIBLE_CHARACTER, '')) === undefined) found.outdated.push(`${problem} (accepted: an earlier version allowed this; fix it with \`${fix}\`)`);
  else found.problems.push(problem);
}

/**
 * Sign-in names (usernames and emails, in any case) that would lead to two users once the import is
 * stored (the rule user add and user update follow too). `after` is every user here with the
 * imported ones in place; only clashes that involve an imported user are reported.
 */
export function signInNameClashes(after: readonly LocalUserRecord[], importedIds: ReadonlySet<string>): string[] {
  return sharedSignInNames(after, importedIds).map(
    ({ name, users, lookalike }) =>
      `local users: "${withInvisibleShown(name)}" would be the username or email of ${users.map((user) => `${user.username} (id ${user.id})`).join(' and ')}, ` +
      // A lookalike (fullwidth letters) signs in its own user, but reads as the other's to people, locks and applications.
      (lookalike ? 'once fullwidth and other compatibility letters are read as the plain ones, as people, locks and applications read them: ' : 'and sign-in would reach one of them only: ') +
      'give one of them another email (user update USERNAME --email ADDRESS) or remove one (user remove USERNAME), here or where the file was exported (then export again)',
  );
}
