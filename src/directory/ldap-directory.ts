/** LDAP / Active Directory as the primary directory: service search, user bind, groups, account state. */
import { randomBytes } from 'node:crypto';
import { PasswordPolicyControl, type Client, type Entry, type SearchOptions } from 'ldapts';
import type { Logger } from 'pino';
import type { User } from '../core/types.ts';
import { DirectoryMisconfiguredError, type AdmitAccount, type AuthOutcome, type Directory, type NotAdmitted, type PasswordChangeOutcome } from './directory.ts';
import { completedWarning, withCompleteFilters, type LdapDirectoryConfig } from './ldap-config.ts';
import { destroy, type Connection } from './ldap-connection.ts';
import { LdapConnector } from './ldap-connector.ts';
import { LdapUnavailableError, bindResultLeftUnjudged, describeError, isLdapResult } from './ldap-errors.ts';
import { LdapPool, type PoolStats } from './ldap-pool.ts';
import { compileFilter, entryValue, entryValues, findUserEntry, meetingUserConditions, type SearchFn, type UserLookup } from './ldap-filter.ts';
import { domainRootOf } from './ldap-derived-bases.ts';
import { resolveGroups } from './ldap-groups.ts';
import { GroupParents } from './ldap-group-parents.ts';
import { PRIMARY_GROUP_ATTRIBUTES, primaryGroupSid } from './ldap-primary-group.ts';
import { adBindFailureVerdict, adEntryVerdict, isDisabledOrExpired, maxPwdAgeToMs, ppolicyVerdict, stateAttributes, type Verdict } from './ldap-account-state.ts';
import { LdapPasswordChange } from './ldap-password-change.ts';
import { HeldBinds } from './ldap-held-binds.ts';
import { userFromEntry } from './ldap-entry.ts';
import { entryId, idFilter } from './ldap-entry-id.ts';
import { explicitBufferAttributes } from './ldap-binary-attributes.ts';
import { checkBaseDns, describeSearchError, isNoSuchObject } from './ldap-base-dns.ts';
import { PolicyMaxAges, generalizedTimeToMs, policyInEffect } from './ldap-password-policy.ts';
import { KeptReads } from './kept-reads.ts';
import { hiddenGroupsOrWarn, type HiddenGroups } from './ldap-group-visibility.ts';
import { RefusalPace, type SignInTime } from './ldap-refusal-pace.ts';

/** `held`: a grace sign-in's connection, taken out of the pool still bound as the user (see HeldBinds). */
type BindResult = { ok: true; held?: Connection } | { ok: false; code: number; message: string; description: string };

/** A search failure under `base` as it was, but "LDAP 32 no such object", which alone does not say which base DN is missing. */
function namingMissingBase(base: string, config: LdapDirectoryConfig): (err: unknown) => never {
  return (err) => {
    throw isNoSuchObject(err) ? new LdapUnavailableError(`search under ${base} failed: ${describeSearchError(err, base, config)}`) : err;
  };
}

/** After a failed read of AD's maxPwdAge, how long sign-ins go without it before it is read again. */
const MAX_PWD_AGE_RETRY_MS = 60_000;

export class LdapDirectory implements Directory {
  readonly kind = 'ldap' as const;
  readonly #config: LdapDirectoryConfig;
  readonly #logger?: Logger;
  /** Service-bound connections for searches. */
  readonly #search: LdapPool;
  /** Connections used only for user binds (each bind replaces the previous identity). */
  readonly #auth: LdapPool;
  readonly #searchFn: SearchFn;
  /** The same searches with the directory's refusals as it gave them (LDAP 32 as such, for startupCheck). */
  readonly #rawSearchFn: SearchFn;
  /** Searches on one connection already taken from the pool. */
  readonly #searchOn: (client: Client) => SearchFn;
  readonly #stateAttrs: string[];
  readonly #groupParents: GroupParents | undefined;
  /**
   * Where an unknown login's password is sent: under the users' base DN, like a real user, with a
   * random name nobody can have created, so no real account ever counts the failure.
   */
  readonly #absentDn: string;
  readonly #now: () => number;
  readonly #heldBinds: HeldBinds;
  /** The domain's maxPwdAge (AD), kept once read; a failed read is logged and tried again a minute later. */
  readonly #maxPwdAge: KeptReads<number | undefined>;
  /** ppolicy: the pwdMaxAge of each password policy, for the expiry warning. */
  readonly #policyMaxAges: PolicyMaxAges;
  readonly #passwordChange: LdapPasswordChange;
  /** An unknown login's bind takes as long as a wrong password's: the directory spends more on the latter. */
  readonly #refusalPace: RefusalPace;
  /**
   * What its pools connect and bind the service account with. The periodic health check is handed the
   * same one, so a server's refusal of the service password has one back-off for both: with one each,
   * the wrong password went to the directory twice as often, towards its lockout of the account.
   */
  readonly connector: LdapConnector;
  /** Whether startupCheck ran: the later runs are /readyz's. */
  #startupChecked = false;

  /**
   * `now`: the server's clock, for what entries say about time (account and password expiry, the
   * expiry warning) and for the reuse and retry of maxPwdAge and policy reads (tests move it); `heldBindMs`: how
   * long a grace sign-in's connection waits for the password change (tests shorten it); `refusalPace`: the
   * clock and wait that pace unknown logins' refusals (tests give their own).
   */
  constructor(
    config: LdapDirectoryConfig,
    deps: { logger?: Logger; now?: () => number; heldBindMs?: number; refusalPace?: ConstructorParameters<typeof RefusalPace>[0] } = {},
  ) {
    const { config: completed, completed: filters } = withCompleteFilters(config);
    this.#config = completed;
    this.#logger = deps.logger;
    for (const filter of filters) this.#logger?.warn({ event: 'ldap.filter.completed', ...filter }, completedWarning(filter));
    this.#now = deps.now ?? Date.now;
    this.#heldBinds = new HeldBinds(deps.heldBindMs);
    this.#refusalPace = new RefusalPace(deps.refusalPace);
    const connector = (this.connector = new LdapConnector(config, this.#logger));
    this.#search = new LdapPool(connector, { size: config.pool.size, serviceBound: true });
    this.#auth = new LdapPool(connector, { size: config.pool.size, serviceBound: false });
    const buffers = explicitBufferAttributes(completed.users);
    this.#searchOn = (client: Client) => (base: string, options: SearchOptions) => client.search(base, { ...options, explicitBufferAttributes: buffers });
    this.#rawSearchFn = this.#rawSearchFor(undefined);
    this.#searchFn = (base: string, options: SearchOptions) => this.#rawSearchFn(base, options).catch(namingMissingBase(base, completed));
    this.#stateAttrs = stateAttributes(config.accountState.flavour);
    this.#policyMaxAges = new PolicyMaxAges(this.#rawSearchFn, this.#now, this.#logger);
    this.#maxPwdAge = new KeptReads({
      read: async (domainRoot) => {
        const entry = await this.#readEntry(domainRoot, ['maxPwdAge']);
        return maxPwdAgeToMs(entry && entryValue(entry, 'maxPwdAge'));
      },
      failed: (domainRoot, err) =>
        this.#logger?.warn(
          { event: 'ldap.maxPwdAge.unavailable', dn: domainRoot, error: describeError(err), retryInSeconds: MAX_PWD_AGE_RETRY_MS / 1000 },
          "the domain's maxPwdAge could not be read: password expiry without msDS-UserPasswordExpiryTimeComputed is not known until it is read again",
        ),
      now: this.#now,
      keptMs: Infinity,
      retryMs: MAX_PWD_AGE_RETRY_MS,
    });
    this.#passwordChange = new LdapPasswordChange({
      accountState: completed.accountState,
      auth: this.#auth,
      search: this.#search,
      heldBinds: this.#heldBinds,
      rawSearchFn: this.#rawSearchFn,
      now: this.#now,
      accountEntry: (id, attributes, log) => this.#asking(log, async () => ({ entry: await this.#accountEntry(id, attributes) })),
    });
    this.#absentDn = `cn=stepgate-absent-${randomBytes(16).toString('hex')},${config.users.baseDn}`;
    this.#groupParents = config.groups.nestedCacheSeconds > 0 ? new GroupParents(config.groups.nestedCacheSeconds * 1000) : undefined;
    if (!config.startTls && config.urls.some((u) => u.startsWith('ldap://'))) {
      this.#logger?.warn({ event: 'ldap.plaintext' }, 'passwords travel unencrypted: use ldaps:// or startTls');
    }
    if (!config.tls.rejectUnauthorized && (config.startTls || config.urls.some((u) => u.startsWith('ldaps://')))) {
      this.#logger?.warn({ event: 'ldap.tls.unverified' }, "the directory server's certificate is not checked (tls.rejectUnauthorized is false): anyone on the network path can pose as the server and read the passwords");
    }
  }

  /**
   * Searches on the search pool; `log`: the request's, for what connecting on its behalf logs. Group
   * searches keep the directory's own function: the root DSE and the in-chain warning are kept per
   * search function, and a function per request would read and warn at every sign-in.
   */
  #rawSearchFor(log: Logger | undefined): SearchFn {
    return (base: string, options: SearchOptions) => this.#search.use(({ client }) => this.#searchOn(client)(base, options), { log });
  }

  poolStats(): { search: PoolStats; auth: PoolStats } {
    return { search: this.#search.stats(), auth: this.#auth.stats() };
  }

  get #attributes(): string[] {
    const memberOf = this.#config.groups.mode === 'memberOf' ? ['memberOf', ...PRIMARY_GROUP_ATTRIBUTES] : [];
    return ['*', this.#config.users.idAttribute, ...this.#stateAttrs, ...memberOf];
  }

  /** The sign-in's own log (its request id) when given, for the lines about this one sign-in. */
  #logFor(requestLog: Logger | undefined): Logger | undefined {
    return requestLog ? requestLog.child({ component: 'ldap' }) : this.#logger;
  }

  authenticate(login: string, password: string, requestLog?: Logger): Promise<AuthOutcome>;
  authenticate<Refusal>(login: string, password: string, requestLog: Logger | undefined, options: { admitAccount: AdmitAccount<Refusal> }): Promise<AuthOutcome | NotAdmitted<Refusal>>;
  async authenticate<Refusal>(login: string, password: string, requestLog?: Logger, options?: { admitAccount: AdmitAccount<Refusal> }): Promise<AuthOutcome | NotAdmitted<Refusal>> {
    const log = this.#logFor(requestLog);
    const loginForLog = login.slice(0, 64);
    // an empty password would be an unauthenticated bind, which servers report as success
    if (password.length === 0) return this.#refuse(log, loginForLog, 'empty-password');
    const signIn = this.#refusalPace.start();
    const found = await this.#asking(log, () => this.#findUserEntry(login, log, signIn));
    if ('ok' in found) return found; // the directory could not be asked
    if (!found.entry) {
      // An unknown login is bound too (as nobody), so it costs the round trips of a known one with a
      // wrong password and response times do not tell which logins exist. A login refused for its
      // shape alone says nothing about who exists and costs no traffic.
      const { reason } = found;
      return this.#asking(log, async () => {
        if (reason !== 'invalid-login') {
          await this.#bind(log, this.#absentDn, password, this.#passwordPolicyControl(), signIn);
          await this.#refusalPace.unknownLogin(signIn);
        }
        return this.#refuse(log, loginForLog, reason);
      });
    }
    const entry = found.entry;
    const accountId = this.#idOf(entry);
    // Before the bind: a bind is a guess the directory counts, whatever Stepgate answers afterwards.
    const refusal = accountId === undefined || options === undefined ? undefined : await options.admitAccount(accountId);
    if (accountId !== undefined && refusal !== undefined) {
      log?.info({ event: 'ldap.auth.not-admitted', login: loginForLog, dn: entry.dn }, 'sign-in refused before the bind: the account is not admitted');
      return { ok: false, reason: 'not-admitted', accountId, refusal };
    }
    return this.#asking(log, () => this.#signIn(log, loginForLog, entry, password, signIn));
  }

  async authenticateAccount(accountId: string, password: string, requestLog?: Logger): Promise<AuthOutcome> {
    const log = this.#logFor(requestLog);
    if (password.length === 0) return this.#refuse(log, undefined, 'empty-password');
    const found = await this.#asking(log, async () => ({ entry: await this.#accountEntry(accountId, this.#attributes) }));
    if ('ok' in found) return found; // the directory could not be asked
    if (!found.entry) {
      log?.info({ event: 'ldap.auth.refused', accountId, reason: 'account-not-found' }, 'sign-in refused');
      return { ok: false, reason: 'invalid-credentials' };
    }
    const entry = found.entry;
    return this.#asking(log, () => this.#signIn(log, undefined, entry, password));
  }

  /**
   * Binds as the entry's user and says what the sign-in meets. `loginForLog`: undefined for an account
   * named by its id. `paceFrom`: a sign-in by login's time, on RefusalPace's clock; a wrong
   * password then paces unknown logins.
   */
  async #signIn(log: Logger | undefined, loginForLog: string | undefined, entry: Entry, password: string, paceFrom?: SignInTime): Promise<AuthOutcome> {
    const { verdict, heldBindId } = await this.#verify(log, entry, password, paceFrom);
    if (verdict.kind === 'invalid') return this.#refuse(log, loginForLog, verdict.reason, entry);
    // Groups only once the password is right: a wrong password must cost no more than an unknown login.
    const user = await this.#userFromEntry(entry);
    if (verdict.kind === 'state') {
      log?.info({ event: 'ldap.auth.state', dn: entry.dn, state: verdict.state, heldForChange: heldBindId !== undefined }, 'password verified, account state blocks sign-in');
      return heldBindId === undefined ? { ok: false, reason: 'account-state', state: verdict.state, user } : { ok: false, reason: 'account-state', state: verdict.state, user, heldBindId };
    }
    log?.debug({ event: 'ldap.auth.ok', dn: entry.dn }, 'user authenticated');
    return verdict.passwordExpiresInDays === undefined ? { ok: true, user } : { ok: true, user, passwordExpiresInDays: verdict.passwordExpiresInDays };
  }

  /**
   * Runs a sign-in's directory work: a directory that fails is an outcome, not an error. admitAccount
   * is asked outside it, so what that throws (the caller's store) goes back to the caller as it is.
   */
  async #asking<T>(log: Logger | undefined, work: () => Promise<T>): Promise<T | AuthOutcome> {
    try {
      return await work();
    } catch (err) {
      const detail = describeError(err);
      if (err instanceof DirectoryMisconfiguredError) {
        log?.error({ event: 'ldap.misconfigured', error: detail }, 'directory entries do not fit the configuration');
        return { ok: false, reason: 'misconfigured', detail };
      }
      log?.error({ event: 'ldap.unavailable', error: detail }, 'directory unavailable');
      return { ok: false, reason: 'unavailable', detail };
    }
  }

  #refuse(log: Logger | undefined, login: string | undefined, reason: string, entry?: Entry): AuthOutcome {
    log?.info({ event: 'ldap.auth.refused', login, dn: entry?.dn, reason }, 'sign-in refused');
    const accountId = entry && this.#idOf(entry);
    return accountId === undefined ? { ok: false, reason: 'invalid-credentials' } : { ok: false, reason: 'invalid-credentials', accountId };
  }

  #idOf(entry: Entry): string | undefined {
    return entryId(entry, this.#config.users);
  }

  /** ppolicy answers with the account's state (must change, expiring) only when asked with this control. */
  #passwordPolicyControl(): PasswordPolicyControl | undefined {
    return this.#config.accountState.flavour === 'openldap-ppolicy' ? new PasswordPolicyControl() : undefined;
  }

  /**
   * A password bind on an auth connection. The directory's refusal is a result; an answer by which the
   * server says it could not judge the password, like a transport failure, throws LdapUnavailableError.
   * Never retried: the directory counts every wrong password it receives (ppolicy pwdFailureTime, AD
   * badPwdCount), so a bind that timed out but reached the server would be counted twice.
   */
  async #bind(log: Logger | undefined, dn: string, password: string, control: PasswordPolicyControl | undefined, signIn?: SignInTime): Promise<BindResult> {
    const connected = this.#refusalPace.waitingForConnection(signIn);
    const result = await this.#auth.use(async (connection): Promise<BindResult> => {
      connected();
      try {
        await connection.client.bind(dn, password, control);
        // a grace sign-in: a second bind for the password change would spend another
        if (control?.value?.graceAuthNsRemaining === undefined) return { ok: true };
        this.#auth.detach(connection);
        return { ok: true, held: connection };
      } catch (err) {
        if (!isLdapResult(err)) throw err;
        return { ok: false, code: err.code, message: err.message, description: describeError(err) };
      }
    }, { retry: false, log });
    if (!result.ok && bindResultLeftUnjudged(result.code)) {
      log?.warn({ event: 'ldap.bind.unjudged', dn, resultCode: result.code, error: result.description }, 'the directory did not judge the password');
      throw new LdapUnavailableError(`bind as ${dn} not judged: ${result.description}`);
    }
    return result;
  }

  /**
   * Binds as the user on an auth connection and reads what the directory says about the account.
   * `heldBindId`: a grace sign-in's connection, kept for the password change that must follow.
   */
  async #verify(log: Logger | undefined, entry: Entry, password: string, paceFrom: SignInTime | undefined): Promise<{ verdict: Verdict; heldBindId?: string }> {
    const { flavour, passwordExpiryWarningDays: warningDays } = this.#config.accountState;
    const control = this.#passwordPolicyControl();
    const bind = await this.#bind(log, entry.dn, password, control, paceFrom);
    if (!bind.ok && bind.code === 49 && paceFrom !== undefined) await this.#refusalPace.wrongPassword(paceFrom);
    if (flavour === 'openldap-ppolicy') {
      const held = bind.ok ? bind.held : undefined;
      let kept = false;
      try {
        let lockedTime = entryValue(entry, 'pwdAccountLockedTime');
        // slapd may have just cleared an expired lockout during this bind: read it again
        if (bind.ok && lockedTime) lockedTime = entryValue((await this.#readEntry(entry.dn, ['pwdAccountLockedTime'])) ?? { dn: '' }, 'pwdAccountLockedTime');
        const msLeftByPolicy = bind.ok ? await this.#msLeftByPolicy(entry) : undefined;
        const verdict = ppolicyVerdict({ bindOk: bind.ok, resultCode: bind.ok ? 0 : bind.code, control: control?.value, lockedTime, warningDays, msLeftByPolicy });
        if (!held || verdict.kind !== 'state' || !verdict.graceLogin) return { verdict };
        kept = true;
        return { verdict, heldBindId: this.#heldBinds.hold(entry.dn, held) };
      } finally {
        // a grace bind of an account that is locked or disabled besides: nothing will be changed on it
        if (held && !kept) await destroy(held.client);
      }
    }
    if (flavour === 'active-directory') {
      if (!bind.ok) return { verdict: bind.code === 49 ? adBindFailureVerdict(bind.message) : { kind: 'invalid', reason: `bind-result-${bind.code}` } };
      return { verdict: adEntryVerdict(entry, this.#now(), warningDays, await this.#domainMaxPwdAge()) };
    }
    return { verdict: bind.ok ? { kind: 'ok' } : { kind: 'invalid', reason: 'wrong-password' } };
  }

  /**
   * ppolicy: how long the password has left by pwdChangedTime and the pwdMaxAge of the policy in effect;
   * undefined when it never expires (no pwdChangedTime: slapd does not expire it either) or the policy
   * is not known (no pwdPolicySubentry and no accountState.defaultPolicyDn) or cannot be read now.
   */
  async #msLeftByPolicy(entry: Entry): Promise<number | undefined> {
    const changedAt = generalizedTimeToMs(entryValue(entry, 'pwdChangedTime'));
    const policy = policyInEffect(entry, this.#config.accountState.defaultPolicyDn);
    if (changedAt === undefined || policy === undefined) return undefined;
    const maxAgeMs = await this.#policyMaxAges.maxAgeOf(policy.dn);
    return maxAgeMs === undefined ? undefined : changedAt + maxAgeMs - this.#now();
  }

  async #readEntry(dn: string, attributes: string[]): Promise<Entry | undefined> {
    const { searchEntries } = await this.#searchFn(dn, { scope: 'base', attributes });
    return searchEntries[0];
  }

  /**
   * AD's domain-wide maximum password age, the fallback when msDS-UserPasswordExpiryTimeComputed is
   * missing. Read once and kept; a read that fails is logged and not kept: sign-ins go on without the
   * fallback (no expiry warning from it) and the next one at least MAX_PWD_AGE_RETRY_MS later reads it again.
   */
  #domainMaxPwdAge(): Promise<number | undefined> {
    return this.#maxPwdAge.get(domainRootOf(this.#config.users.baseDn));
  }

  #memberOf(entry: Entry): string[] {
    return entryValues(entry, 'memberOf');
  }

  async #userFromEntry(entry: Entry): Promise<User> {
    const user = { dn: entry.dn, memberOf: this.#memberOf(entry), primaryGroupSid: primaryGroupSid(entry) };
    const groups = await resolveGroups(this.#searchFn, this.#config.groups, this.#config.users.baseDn, user, this.#groupParents, this.#logger);
    return userFromEntry(entry, groups, this.#config.users, this.#stateAttrs);
  }

  /** The entries whose users.idAttribute is `id`: at most two are read, one more than an account may have. */
  async #entriesWithId(id: string, attributes: string[]): Promise<Entry[]> {
    const filter = idFilter(id, this.#config.users);
    if (filter === null) return [];
    // users.filter's conditions hold here too: a user it no longer admits keeps no session or token.
    const { searchEntries } = await this.#searchFn(this.#config.users.baseDn, { scope: 'sub', filter: meetingUserConditions(compileFilter(filter), this.#config.users.filter), attributes, sizeLimit: 2 });
    return searchEntries;
  }

  /**
   * The entry of the account `id` names, in whatever state, for a change of its password or the sign-in
   * after it; null when there is none. Two entries with the id are a configuration to fix, never a
   * choice: the one the sign-in verified cannot be told from the other.
   */
  async #accountEntry(id: string, attributes: string[]): Promise<Entry | null> {
    const entries = await this.#entriesWithId(id, attributes);
    if (entries.length > 1) {
      throw new DirectoryMisconfiguredError(`entries ${entries.map((entry) => entry.dn).join('; ')} have the same ${this.#config.users.idAttribute}; users.idAttribute must differ for every user`);
    }
    return entries[0] ?? null;
  }

  async findUserById(id: string): Promise<User | null> {
    const entries = await this.#entriesWithId(id, this.#attributes);
    const entry = entries.length === 1 ? entries[0] : undefined;
    if (!entry || isDisabledOrExpired(entry, this.#config.accountState.flavour, this.#now())) return null;
    return this.#userFromEntry(entry);
  }

  /**
   * The entry of a login, its searches (users.filter, the alternate login attributes) on one pooled
   * connection: on two, the first sign-in after an outage would fail, its second connection finding
   * the first one's reconnect under way.
   */
  #findUserEntry(login: string, log: Logger | undefined, signIn?: SignInTime): Promise<UserLookup> {
    const { users } = this.#config;
    const connected = this.#refusalPace.waitingForConnection(signIn);
    return this.#search
      .use(({ client }) => {
        connected();
        return findUserEntry(this.#searchOn(client), users, login, this.#attributes, log);
      }, { log })
      .catch(namingMissingBase(users.baseDn, this.#config));
  }

  async findUser(login: string): Promise<User | null> {
    const found = await this.#findUserEntry(login, this.#logger);
    return found.entry ? this.#userFromEntry(found.entry) : null;
  }

  changePassword(accountId: string, oldPassword: string, newPassword: string, requestLog?: Logger, options: { heldBindId?: string } = {}): Promise<PasswordChangeOutcome> {
    return this.#passwordChange.change(this.#logFor(requestLog), accountId, oldPassword, newPassword, options.heldBindId);
  }

  /**
   * Both bases are read once: a base that does not exist would otherwise pass start-up and /readyz and
   * then fail every sign-in as "cannot reach the directory", naming no key. A missing base is a
   * configuration to correct (DirectoryMisconfiguredError), not a directory to wait for. At start-up
   * (the first run that reaches the directory) groups the service account cannot see are logged (#logHiddenGroups) but fail
   * nothing: sign-ins work, and a directory without groups looks the same as one whose groups are all
   * hidden. /readyz's runs do not look again: the look is a subtree scan of the group base, too much
   * for every probe of every load balancer, and DirectoryHealth repeats it. `requestLog`: a /readyz
   * probe's log, so that a server it cannot reach is logged with its request id.
   */
  async startupCheck(requestLog?: Logger): Promise<void> {
    try {
      await checkBaseDns(requestLog === undefined ? this.#rawSearchFn : this.#rawSearchFor(this.#logFor(requestLog)), this.#config);
    } catch (err) {
      if (err instanceof DirectoryMisconfiguredError) throw new DirectoryMisconfiguredError(`LDAP directory check failed: ${err.message}`);
      throw new LdapUnavailableError(`LDAP directory check failed: ${describeError(err)}`);
    }
    // The first check that reached the directory: one that was down at start-up looks at the next.
    const startingUp = !this.#startupChecked;
    this.#startupChecked = true;
    if (startingUp) this.#logHiddenGroups(await hiddenGroupsOrWarn(this.#rawSearchFn, this.#config, this.#config.bind.dn, this.#logger));
  }

  /**
   * Logs what the start-up check found about the groups. Hidden members are an error: every user is
   * in no group, so a rule denying a group admits everyone. No visible group is a warning: it may be a
   * directory without groups.
   */
  #logHiddenGroups(hidden: HiddenGroups | undefined): void {
    if (hidden?.kind === 'members-hidden') {
      this.#logger?.error({ event: 'ldap.groups.members-hidden', groupsFilter: this.#config.groups.filter, memberAttribute: this.#config.groups.memberAttribute }, `every user is in no group, so a rule denying a group admits everyone: ${hidden.message}`);
    } else if (hidden?.kind === 'no-group') {
      this.#logger?.warn({ event: 'ldap.groups.none-visible', groupsFilter: this.#config.groups.filter }, `users are in no group: ${hidden.message} (a directory without groups needs nothing)`);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.#search.close(), this.#auth.close(), this.#heldBinds.close()]);
  }
}
