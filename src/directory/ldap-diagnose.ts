/**
 * "Test connection" for admins (`directory test [--user alice [--password-file F]]`): each step says
 * what worked and where it stopped, with timings, instead of one opaque failure.
 */
import type { Entry, SearchOptions } from 'ldapts';
import { pino, type Logger } from 'pino';
import type { AuthOutcome } from './directory.ts';
import { completedWarning, withCompleteFilters, type CompletedFilter, type LdapDirectoryConfig } from './ldap-config.ts';
import { LdapDirectory } from './ldap-directory.ts';
import { entryId, idFilter } from './ldap-entry-id.ts';
import { explicitBufferAttributes, isBinaryAttribute } from './ldap-binary-attributes.ts';
import { checkBaseDns } from './ldap-base-dns.ts';
import { destroy, type Connection } from './ldap-connection.ts';
import { LdapConnector } from './ldap-connector.ts';
import { describeError } from './ldap-errors.ts';
import { attributeValues, compileFilter, entryValue, entryValues, equalityFilter, findUserEntry, type SearchFn } from './ldap-filter.ts';
import { groupBaseOf } from './ldap-derived-bases.ts';
import { dnGroupName } from './ldap-group-names.ts';
import { resolveGroups, type ResolvedGroups } from './ldap-groups.ts';
import { groupVisibility, hiddenGroups, logUncheckedGroups } from './ldap-group-visibility.ts';
import { posixGroupWarning } from './ldap-posix-group-hint.ts';
import { PRIMARY_GROUP_ATTRIBUTES, primaryGroupSid } from './ldap-primary-group.ts';
import { withLdapSignificantSpaces } from '../core/fold-case.ts';
import { EXPIRY_ATTRIBUTES, generalizedTimeToMs, policyInEffect, readPolicyMaxAge } from './ldap-password-policy.ts';

export interface DiagnoseStep {
  step: 'connect' | 'service-bind' | 'base-dn' | 'user-lookup' | 'groups' | 'password-expiry' | 'password';
  /** The server the step ran against. */
  url: string;
  ok: boolean;
  detail: string;
  /**
   * A step that worked in a way that needs fixing, in words: the backup account bound because the
   * server refuses bind.dn (sign-ins work until the backup's password expires as well).
   */
  warning?: string;
  ms: number;
}

/** What a step found: its detail, and a warning when it worked but needs fixing. */
type Found = string | { detail: string; warning?: string };

async function timed(step: DiagnoseStep['step'], url: string, steps: DiagnoseStep[], fn: () => Promise<Found>): Promise<boolean> {
  const start = performance.now();
  try {
    const found = await fn();
    const { detail, warning } = typeof found === 'string' ? { detail: found, warning: undefined } : found;
    steps.push({ step, url, ok: true, detail, ...(warning ? { warning } : {}), ms: Math.round(performance.now() - start) });
    return true;
  } catch (err) {
    steps.push({ step, url, ok: false, detail: describeError(err), ms: Math.round(performance.now() - start) });
    return false;
  }
}

/**
 * The user's mapped attributes, as sign-ins will map them. A missing id fails the step: every sign-in
 * of this user would fail with it. Warns of a missing username (which fails them too, but the groups and
 * the password are still worth checking), of an id that is not this user's alone, and of the user
 * filter when the configuration does not write it out in full. `account`: the service account that
 * read the entry (an id the entry has can be hidden from it, operational attributes often are).
 */
async function describeUser(search: SearchFn, entry: Entry, users: LdapDirectoryConfig['users'], completed: CompletedFilter | undefined, account: string): Promise<Found> {
  const id = entryId(entry, users);
  if (id === undefined) {
    throw new Error(`found ${entry.dn}, but it has no ${users.idAttribute} (users.idAttribute), or the service account ${account} may not read it: every sign-in of this user fails`);
  }
  const shown = (attribute: string): string => entryValue(entry, attribute) ?? `(no ${attribute})`;
  const detail = `found ${entry.dn}: id ${id}, username ${shown(users.usernameAttribute)}, name ${shown(users.nameAttribute)}, email ${shown(users.emailAttribute)}`;
  const warnings = [...(completed ? [completedWarning(completed)] : []), ...usernameWarnings(entry, users, account), ...(await idWarnings(search, entry, id, users))];
  return warnings.length === 0 ? detail : { detail, warning: warnings.join('; ') };
}

/** A username the entry lacks (or the service account may not read): sign-ins refuse such an entry, as one without an id. */
function usernameWarnings(entry: Entry, users: LdapDirectoryConfig['users'], account: string): string[] {
  const { usernameAttribute } = users;
  if (entryValue(entry, usernameAttribute)) return [];
  return [`${entry.dn} has no ${usernameAttribute} (users.usernameAttribute), or the service account ${account} may not read it: every sign-in of this user is refused as "sign-in is not set up correctly" (logged as ldap.misconfigured); give the entry a ${usernameAttribute}, or set users.usernameAttribute to an attribute every user has`];
}

/**
 * An id that is not this entry's alone: another entry with the same value (sign-ins of both would be
 * one account at every relying party and in Stepgate: MFA enrolment, locks), or bytes in an attribute
 * not declared binary (an id is then text or base64url depending on the bytes, and the two can meet).
 */
async function idWarnings(search: SearchFn, entry: Entry, id: string, users: LdapDirectoryConfig['users']): Promise<string[]> {
  const { idAttribute, baseDn } = users;
  const holdsBytes = attributeValues(entry, idAttribute).some((value) => Buffer.isBuffer(value));
  const warnings: string[] = [];
  if (holdsBytes && !isBinaryAttribute(idAttribute, users)) {
    warnings.push(`${idAttribute} (users.idAttribute) holds bytes, not text: add it to users.binaryAttributes so that every user's id is the base64url of all its bytes`);
  }
  const filter = idFilter(id, users);
  const { searchEntries } = filter === null ? { searchEntries: [] } : await search(baseDn, { scope: 'sub', filter: compileFilter(filter), attributes: ['1.1'], sizeLimit: 2 });
  const others = searchEntries.filter((other) => other.dn.toLowerCase() !== entry.dn.toLowerCase()).map((other) => other.dn);
  if (filter !== null && searchEntries.length === 0) {
    // An attribute without an EQUALITY matching rule in the schema is read but never found by a search.
    warnings.push(`a search for ${idAttribute}=<this entry's id> under ${baseDn} finds no entry (no equality matching rule for ${idAttribute}, or the service account may not search it): the user signs in, but SSO reuse, token refresh and the password change at sign-in find the account by this id and fail; use an id attribute the directory can match (entryUUID, objectGUID)`);
  }
  if (others.length > 0) {
    warnings.push(`${others.join('; ')} has the same id: ${idAttribute} (users.idAttribute) must differ for every user, or these users are one account to every relying party and to Stepgate (MFA, locks), and their sessions cannot be resumed`);
  }
  return warnings;
}

const DAY_MS = 86_400_000;
const shownTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const shownAge = (ms: number): string => (ms % DAY_MS === 0 ? `${ms / DAY_MS} day(s)` : `${ms / 1000} s`);

/**
 * ppolicy, for a password slapd expires (the entry has pwdChangedTime): when it expires as sign-ins
 * compute it, from pwdChangedTime and the pwdMaxAge of the policy in effect. Warns when that cannot be
 * computed: sign-ins then warn only when slapd itself does.
 */
async function describeExpiry(search: SearchFn, accountState: LdapDirectoryConfig['accountState'], entry: Entry, account: string, now: number): Promise<Found> {
  const changed = entryValue(entry, 'pwdChangedTime') ?? '';
  const changedAt = generalizedTimeToMs(changed);
  const policy = policyInEffect(entry, accountState.defaultPolicyDn);
  const slapdOnly = `the expiry cannot be computed, so sign-ins warn only when slapd does (within the policy's pwdExpireWarning, by default never), not accountState.passwordExpiryWarningDays (${accountState.passwordExpiryWarningDays}) day(s) before`;
  if (changedAt === undefined) return { detail: `pwdChangedTime ${changed} is not a time`, warning: slapdOnly };
  const changedText = `changed ${shownTime(changedAt)} (pwdChangedTime)`;
  if (policy === undefined) {
    return { detail: `${changedText}; the entry has no pwdPolicySubentry and accountState.defaultPolicyDn is not set`, warning: `${slapdOnly}: set accountState.defaultPolicyDn to slapd's default policy (ppolicy_default)` };
  }
  const source = `${policy.dn} (${policy.from})`;
  let maxAgeMs: number | undefined;
  try {
    maxAgeMs = await readPolicyMaxAge(search, policy.dn);
  } catch (err) {
    return { detail: `${changedText}; policy ${source}`, warning: `the service account ${account} cannot read the policy: ${describeError(err)}; ${slapdOnly}` };
  }
  if (maxAgeMs === undefined) return `does not expire: ${changedText}, and the policy ${source} has no pwdMaxAge`;
  const expiresAt = changedAt + maxAgeMs;
  const when = expiresAt > now ? `expires ${shownTime(expiresAt)}, in ${Math.ceil((expiresAt - now) / DAY_MS)} day(s)` : `expired ${shownTime(expiresAt)}`;
  return `${when}: ${changedText}, pwdMaxAge ${shownAge(maxAgeMs)} in the policy ${source}; sign-ins warn ${accountState.passwordExpiryWarningDays} day(s) before (accountState.passwordExpiryWarningDays)`;
}

/** By AccountState; a state added there and not yet here is shown by its name. */
const ACCOUNT_STATES: Readonly<Record<string, string>> = {
  disabled: 'the account is disabled',
  locked: 'the account is locked',
  expired: 'the account has expired',
  'password-expired': 'the password has expired',
  'password-expired-no-grace': 'the password has expired and only an administrator can reset it',
  'must-change': 'the password must be changed first',
};

/** The directory's logged refusal reasons an administrator most often meets, in words; others are shown as logged. */
const REFUSALS: Readonly<Record<string, string>> = {
  'wrong-password': 'wrong password',
  'wrong-password-or-locked': 'wrong password, or the account is locked in the directory',
  'locked-password-not-verified': 'the directory refuses the account without checking the password (locked or disabled there)',
};

/**
 * What a sign-in with this password would meet; throws (a failed step) for anything but a working
 * sign-in. `refusal`: the reason the directory logged for invalid credentials, which users never see
 * but an administrator needs (a wrong password, or a lock the directory applies before checking it).
 */
function describeOutcome(outcome: AuthOutcome, refusal: string | undefined): string {
  if (outcome.ok) return outcome.passwordExpiresInDays === undefined ? 'password right, account ok' : `password right, account ok; the password expires in ${outcome.passwordExpiresInDays} day(s)`;
  if (outcome.reason === 'account-state') throw new Error(`password right, but ${ACCOUNT_STATES[outcome.state] ?? outcome.state}`);
  if (outcome.reason === 'invalid-credentials') throw new Error(`invalid credentials: ${refusal === undefined ? 'refused' : (REFUSALS[refusal] ?? refusal)}`);
  throw new Error(`the directory could not check it: ${outcome.detail}`);
}

/** Signs in as a user would, and says how it went. */
async function checkPassword(config: LdapDirectoryConfig, login: string, password: string, logger: Logger | undefined): Promise<string> {
  let refusal: string | undefined;
  const signInLog = pino({ level: 'info' }, {
    write: (line: string) => {
      const fields = JSON.parse(line) as { event?: string; reason?: string };
      if (fields.event === 'ldap.auth.refused') refusal = fields.reason;
    },
  });
  const directory = new LdapDirectory(config, { logger });
  try {
    return describeOutcome(await directory.authenticate(login, password, signInLog), refusal);
  } finally {
    await directory.close();
  }
}

/** Whether the connection is encrypted and, when it is, whether the server's certificate was checked. */
function describeChannel(connection: Connection, config: LdapDirectoryConfig): string {
  if (!connection.secure) return '(not encrypted)';
  return config.tls.rejectUnauthorized ? '(TLS)' : "(TLS, but the server's certificate is not checked: tls.rejectUnauthorized is false)";
}

/** The account that bound (handed to `bound`); the backup account binding is a warning that names bind.dn's refusal. */
async function describeServiceBind(connector: LdapConnector, connection: Connection, bound: (dn: string) => void): Promise<Found> {
  const { dn, mainRefused } = await connector.serviceBind(connection);
  bound(dn);
  if (mainRefused === undefined) return `bound as ${dn} on ${connection.url}`;
  return { detail: `bound as ${dn} (backupBind) on ${connection.url}`, warning: `bind.dn is refused: ${mainRefused}; sign-ins use the backup account (backupBind)` };
}

/**
 * The user's groups as sign-ins resolve them, each name quoted (a name may hold ", "), and where they
 * were looked for: the group base, said to be a default when groups.baseDn is not set. Warns of groups
 * resolved in a way that needs fixing, of groups hidden from the service account when the user is in
 * none, and of a groups filter the configuration does not write out in full.
 */
async function describeGroups(search: SearchFn, config: LdapDirectoryConfig, user: { dn: string; memberOf: string[]; usernames: string[]; primaryGroupSid?: Buffer }, completed: CompletedFilter | undefined, account: string): Promise<Found> {
  const { groups, users } = config;
  const found = await resolveGroups(search, groups, users.baseDn, user);
  const base = groups.mode === 'memberOf' && groups.nestedDepth === 0 ? undefined : await groupBaseOf(search, groups, users.baseDn);
  const where = base === undefined ? "in the entry's memberOf (groups.nestedDepth 0)" : `under ${base.dn}${base.defaulted ? ` (groups.baseDn not set: ${base.defaulted})` : ''}`;
  const names = found.names.map((name) => JSON.stringify(name)).join(', ');
  const detail = found.names.length > 0 ? `${found.names.length} group(s) ${where}: ${names}` : `member of no group ${where}`;
  const hidden = found.names.length === 0 && base !== undefined ? await hiddenGroups(search, groups, base.dn, account) : undefined;
  // With `hidden`, no group shows the attribute at all: not a mixed directory, and `hidden` already gives the setting to change.
  const otherKind = groups.mode === 'member' && base !== undefined && hidden === undefined ? await otherKindWarning(search, groups, base.dn, user.dn) : undefined;
  const posix = base !== undefined ? await posixGroupWarning(search, base.dn, user.usernames, found.dns, groups.nameAttribute) : undefined;
  const warnings = [found.warning, hidden?.message, ...unclearNames(found, groups.nameAttribute, account), completed && completedWarning(completed), otherKind, posix].filter((warning) => warning !== undefined);
  return warnings.length === 0 ? detail : { detail, warning: warnings.join('; ') };
}

/** How many groups of the other kind the warning names; one more is searched for, to say there are more. */
const OTHER_KIND_NAMED = 5;

/**
 * The groups under `base` that list the user in the member attribute sign-ins do not read. In a
 * directory with both kinds (groupOfNames with member, groupOfUniqueNames with uniqueMember), one kind
 * is dropped without a word: a rule permitting such a group refuses the user, one denying it admits
 * them. This search's own failure is no finding: the user's groups were resolved, and it says nothing then.
 */
async function otherKindWarning(search: SearchFn, groups: LdapDirectoryConfig['groups'], base: string, userDn: string): Promise<string | undefined> {
  const other = groups.memberAttribute === 'member' ? 'uniqueMember' : 'member';
  const filter = compileFilter(`(&${groups.filter}${equalityFilter(other, userDn)})`);
  const entries = await search(base, { scope: 'sub', filter, attributes: ['1.1'], sizeLimit: OTHER_KIND_NAMED + 1 }).then(
    (result) => result.searchEntries,
    () => [],
  );
  if (entries.length === 0) return undefined;
  const names = entries.slice(0, OTHER_KIND_NAMED).map((entry) => JSON.stringify(dnGroupName(entry.dn, groups.nameAttribute)));
  const more = entries.length > OTHER_KIND_NAMED ? ' and more' : '';
  return (
    `the user is listed in ${other} of ${names.join(', ')}${more} under ${base}, which sign-ins do not read: they look for the user in ${groups.memberAttribute} alone (groups.memberAttribute), ` +
    'so these groups are not among the user\'s groups and rules naming them do not match; a directory that uses both kinds of group needs one kind converted (README "Connecting LDAP / Active Directory", Groups)'
  );
}

/**
 * The user's groups whose name is not simply their entry's one value of the name attribute. Several
 * values: which one is the group's name is not for every reader to guess (Stepgate takes the one that
 * is the RDN's), and a rule written with another never matches. None that is the RDN's (the service
 * account may not read them, or the directory does not keep the RDN's value in the entry): the name is
 * spelled as the DN spells it, which relying parties that map names case-sensitively may not expect.
 */
function unclearNames(found: ResolvedGroups, nameAttribute: string, account: string): string[] {
  return (found.unclearlyNamed ?? []).map(({ dn, name, nameValues = [] }) => {
    const listed = nameValues.map((value) => JSON.stringify(value)).join(', ');
    if (nameValues.some((value) => withLdapSignificantSpaces(value) === name)) {
      return `${dn} has ${nameValues.length} ${nameAttribute} values (groups.nameAttribute: ${listed}): its name is ${JSON.stringify(name)}, and a rule naming it by another of them does not match it; give it one value`;
    }
    const read = nameValues.length === 0 ? `no ${nameAttribute} value` : `no ${nameAttribute} value that is its RDN's (only ${listed})`;
    return `the service account ${account} reads ${read} (groups.nameAttribute) in ${dn}: its name ${JSON.stringify(name)} is taken from its DN, spelled as the DN spells it; let the service account read ${nameAttribute}, and give the entry the RDN's value`;
  });
}

/**
 * The configured base DNs, and (unless groups come from memberOf values alone) whether the groups
 * under the group base show their members to the service account: a warning when none does. That
 * look's own failure is logged and said in the detail, and the step stays ok: the base DNs are there and sign-ins work.
 */
async function describeBaseDns(search: SearchFn, config: LdapDirectoryConfig, account: string, logger: Logger | undefined): Promise<Found> {
  const detail = await checkBaseDns(search, config);
  const visibility = await groupVisibility(search, config, account);
  if (visibility?.kind === 'unchecked') {
    // `directory test` has no log to read: the detail says it, and the step stays ok, as sign-ins work.
    logUncheckedGroups(logger, visibility, account);
    return `${detail}; ${visibility.message}`;
  }
  // No visible group at all may be a directory without groups: said only where a user is in none.
  return visibility?.kind === 'members-hidden' ? { detail, warning: visibility.message } : detail;
}

/**
 * Connects to every configured server (one 'connect' step each), then binds as the service account
 * on each reachable one in order until one accepts it (one 'service-bind' step each, with a warning
 * when it is the backup account), as sign-ins move on from a server that refuses it. On that server:
 * the configured base DNs are read ('base-dn', a warning when groups are visible but none shows its
 * members to the service account); with `user` the lookup and group resolution (each with a warning
 * for a filter the configuration leaves incomplete), and for a ppolicy password slapd
 * expires, when it expires ('password-expiry', a warning when that cannot be computed); with `password` as well, a
 * sign-in through the real authentication path (which the directory counts like any sign-in: a
 * wrong password is a failure towards its lockout). Apart from the service binds, steps after a failure are not run.
 */
export async function diagnoseLdap(configured: LdapDirectoryConfig, options: { user?: string; password?: string; logger?: Logger; connector?: LdapConnector } = {}): Promise<DiagnoseStep[]> {
  const { config, completed } = withCompleteFilters(configured);
  const completedFilter = (key: CompletedFilter['key']) => completed.find((filter) => filter.key === key);
  const connector = options.connector ?? new LdapConnector(config, options.logger);
  const steps: DiagnoseStep[] = [];
  const connections: Connection[] = [];
  try {
    for (const url of config.urls) {
      await timed('connect', url, steps, async () => {
        const connection = await connector.connectTo(url);
        connections.push(connection);
        return `${url} reachable ${describeChannel(connection, config)}`;
      });
    }
    let bound: Connection | undefined;
    let account = config.bind.dn;
    for (const connection of connections) {
      if (await timed('service-bind', connection.url, steps, () => describeServiceBind(connector, connection, (dn) => (account = dn)))) {
        bound = connection;
        break;
      }
    }
    if (!bound) return steps;
    const { client, url } = bound;
    const buffers = explicitBufferAttributes(config.users);
    const search: SearchFn = (base: string, searchOptions: SearchOptions) => client.search(base, { ...searchOptions, explicitBufferAttributes: buffers });
    if (!(await timed('base-dn', url, steps, () => describeBaseDns(search, config, account, options.logger))) || options.user === undefined) return steps;

    let userEntry: Entry | undefined;
    let memberOf: string[] = [];
    const user = options.user;
    const ppolicy = config.accountState.flavour === 'openldap-ppolicy';
    const found = await timed('user-lookup', url, steps, async () => {
      const { idAttribute, usernameAttribute, nameAttribute, emailAttribute } = config.users;
      const result = await findUserEntry(search, config.users, user, [idAttribute, usernameAttribute, nameAttribute, emailAttribute, 'memberOf', ...PRIMARY_GROUP_ATTRIBUTES, ...(ppolicy ? EXPIRY_ATTRIBUTES : [])]);
      if (!result.entry) {
        if (result.reason === 'ambiguous') throw new Error(`"${user}" names more than one entry under ${config.users.baseDn} (a login must name one): ${result.dns.join('; ')}`);
        const why = { 'invalid-login': 'is not a valid login', 'not-found': 'matches no entry' };
        throw new Error(`"${user}" ${why[result.reason]} under ${config.users.baseDn}`);
      }
      userEntry = result.entry;
      memberOf = entryValues(result.entry, 'memberOf');
      return describeUser(search, result.entry, config.users, completedFilter('directory.users.filter'), account);
    });
    if (!found || !userEntry) return steps;
    const entry = userEntry;
    const grouped = await timed('groups', url, steps, () => describeGroups(search, config, { dn: entry.dn, memberOf, usernames: entryValues(entry, config.users.usernameAttribute), primaryGroupSid: primaryGroupSid(entry) }, completedFilter('directory.groups.filter'), account));
    if (!grouped) return steps;
    // without pwdChangedTime slapd never expires the password: nothing to compute
    if (ppolicy && entryValue(entry, 'pwdChangedTime') !== undefined) {
      if (!(await timed('password-expiry', url, steps, () => describeExpiry(search, config.accountState, entry, account, Date.now())))) return steps;
    }
    const password = options.password;
    if (password === undefined) return steps;
    await timed('password', url, steps, () => checkPassword(config, user, password, options.logger));
    return steps;
  } finally {
    await Promise.all(connections.map((c) => destroy(c.client)));
  }
}
