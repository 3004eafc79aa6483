/**
 * A user's change of their own password in LDAP / Active Directory: the account's entry found by
 * its id, a change refused for a lock set since a grace sign-in, and the flavour's mechanism
 * (ldap-password.ts) on the connection it needs: the one a grace sign-in kept, a bind as the user,
 * or AD's service connection.
 */
import type { Entry } from 'ldapts';
import type { Logger } from 'pino';
import { AppError } from '../core/errors.ts';
import type { AuthOutcome, PasswordChangeOutcome } from './directory.ts';
import { PPOLICY_DISABLED_TIME, adBindFailureVerdict } from './ldap-account-state.ts';
import type { LdapDirectoryConfig } from './ldap-config.ts';
import { LdapUnavailableError, bindResultLeftUnjudged, describeError, isLdapResult } from './ldap-errors.ts';
import { entryValue, type SearchFn } from './ldap-filter.ts';
import type { HeldBinds } from './ldap-held-binds.ts';
import { WRONG_CURRENT, changeWithPasswordModify, changeWithUnicodePwd, passwordModify, refusal } from './ldap-password.ts';
import { lockInEffect } from './ldap-password-policy.ts';
import type { LdapPool } from './ldap-pool.ts';

/** What a change uses of the directory's: its connections and held binds, and how it finds an account's entry. */
export interface PasswordChangeDeps {
  accountState: LdapDirectoryConfig['accountState'];
  /** Connections used only for user binds. */
  auth: LdapPool;
  /** Service-bound connections. */
  search: LdapPool;
  heldBinds: HeldBinds;
  /** Searches with the directory's refusals as it gave them. */
  rawSearchFn: SearchFn;
  now: () => number;
  /**
   * The entry of the account `id` names (null when there is none) or, when the directory could not
   * be asked, the outcome a sign-in gets for that.
   */
  accountEntry: (id: string, attributes: string[], log: Logger | undefined) => Promise<{ entry: Entry | null } | AuthOutcome>;
}

export class LdapPasswordChange {
  readonly #deps: PasswordChangeDeps;

  constructor(deps: PasswordChangeDeps) {
    this.#deps = deps;
  }

  async change(log: Logger | undefined, accountId: string, oldPassword: string, newPassword: string, heldBindId: string | undefined): Promise<PasswordChangeOutcome> {
    if (!oldPassword) return refusal('oldRequired');
    if (!newPassword) return refusal('newRequired');
    const { accountState } = this.#deps;
    // A grace sign-in's held connection is not bound again, so nothing else would see a lock set since.
    const heldOnPpolicy = heldBindId !== undefined && accountState.flavour === 'openldap-ppolicy';
    const found = await this.#deps.accountEntry(accountId, heldOnPpolicy ? ['pwdAccountLockedTime', 'pwdPolicySubentry'] : ['1.1'], log);
    if ('ok' in found) {
      if (!found.ok && found.reason === 'misconfigured') throw new AppError('DIRECTORY_MISCONFIGURED', { detail: { directory: found.detail } });
      return refusal('unavailable');
    }
    if (!found.entry) {
      log?.info({ event: 'ldap.password.change', accountId, ok: false, reason: 'account-removed' }, 'password change: no entry has the account id any more');
      throw new AppError('LOGIN_FAILED', { detail: { after: 'password-change', reason: 'account-removed' } });
    }
    const dn = found.entry.dn;
    const entry = found.entry;
    // Changing the password on that connection would make slapd clear the lock an administrator (or the lockout) set.
    if (heldOnPpolicy && (await lockInEffect(this.#deps.rawSearchFn, entry, accountState.defaultPolicyDn, PPOLICY_DISABLED_TIME, this.#deps.now()))) {
      const state = entryValue(entry, 'pwdAccountLockedTime') === PPOLICY_DISABLED_TIME ? 'disabled' : 'locked';
      log?.info({ event: 'ldap.password.change', dn, ok: false, reason: `account-${state}` }, 'password change refused: the account was locked or disabled after the sign-in');
      throw new AppError(state === 'disabled' ? 'ACCOUNT_DISABLED' : 'ACCOUNT_LOCKED', { detail: { state, during: 'password-change' } });
    }
    try {
      const outcome =
        accountState.flavour === 'active-directory'
          ? await this.#changeAd(dn, oldPassword, newPassword)
          : await this.#changeWithPasswordModify(dn, oldPassword, newPassword, heldBindId);
      log?.info({ event: 'ldap.password.change', dn, ok: outcome.ok, ...(outcome.ok ? {} : { reason: outcome.reason, message: outcome.message }) }, 'password change');
      return outcome;
    } catch (err) {
      log?.error({ event: 'ldap.unavailable', error: describeError(err) }, 'password change failed');
      return refusal('unavailable');
    }
  }

  /** On the connection a grace sign-in kept when it is still there: a new bind would spend another grace sign-in. */
  async #changeWithPasswordModify(dn: string, oldPassword: string, newPassword: string, heldBindId: string | undefined): Promise<PasswordChangeOutcome> {
    const onHeld = heldBindId === undefined ? undefined : await this.#deps.heldBinds.use(heldBindId, dn, (client) => passwordModify(client, dn, oldPassword, newPassword));
    return onHeld ?? this.#deps.auth.use(({ client }) => changeWithPasswordModify(client, dn, oldPassword, newPassword, heldBindId !== undefined), { retry: false });
  }

  /** AD: a user who must change (773) or whose password expired (532) cannot bind, so the change runs on the service connection. */
  async #changeAd(dn: string, oldPassword: string, newPassword: string): Promise<PasswordChangeOutcome> {
    return this.#deps.auth.use(
      async ({ client, secure }) => {
        try {
          await client.bind(dn, oldPassword);
        } catch (err) {
          if (!isLdapResult(err)) throw err;
          if (bindResultLeftUnjudged(err.code)) throw new LdapUnavailableError(`bind as ${dn} not judged: ${describeError(err)}`);
          const verdict = adBindFailureVerdict(err.message);
          if (verdict.kind !== 'state' || (verdict.state !== 'must-change' && verdict.state !== 'password-expired')) return WRONG_CURRENT;
          return this.#deps.search.use((c) => changeWithUnicodePwd(c.client, c.secure, dn, oldPassword, newPassword), { retry: false });
        }
        return changeWithUnicodePwd(client, secure, dn, oldPassword, newPassword);
      },
      { retry: false },
    );
  }
}
