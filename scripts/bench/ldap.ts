/** The bench directory: a private slapd with `users` users in `groups` nested groups, no lockout, no expiry. */
import { Client } from 'ldapts';
import { startSlapd, generateUsersLdif, type SlapdHandle } from '../slapd.ts';
import type { ConfigInput } from '../../src/config/schema.ts';

export const BASE_DN = 'dc=example,dc=org';

export function userPassword(n: number): string {
  return `Passw0rd!${n}`;
}

/** entryUUID of user n as generateUsersLdif writes it; the IdP uses it as the stable user id. */
export function userId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/**
 * The directory user after the bench users: seeded without a TOTP enrollment and never picked by the
 * load, so that the kill -9 check can have the IdP under test enrol them itself.
 */
export function enrollingUser(benchUsers: number): number {
  return benchUsers;
}

export async function startBenchDirectory(users: number, groups: number): Promise<SlapdHandle> {
  return startSlapd({
    baseDn: BASE_DN,
    ldif: [generateUsersLdif({ baseDn: BASE_DN, users, groups })],
    // a benchmark hammers the same accounts: never lock them, never warn about expiry
    ppolicy: { policy: { pwdLockout: false, pwdMaxAge: 0, pwdExpireWarning: 0, pwdMustChange: false } },
    monitor: true, // operation counters: LDAP round trips per sign-in
  });
}

export interface LdapOps {
  searches: number;
  binds: number;
}

/** slapd's completed-operation counters (cn=Monitor, read as the rootdn), less what reading them costs. */
export class LdapOpCounter {
  readonly #client: Client;
  readonly #slapd: SlapdHandle;
  #bound = false;
  /** What one read adds to the counters, measured by two reads in a row. */
  #overhead: LdapOps = { searches: 0, binds: 0 };

  constructor(slapd: SlapdHandle) {
    this.#slapd = slapd;
    this.#client = new Client({ url: slapd.url });
  }

  async #completed(operation: 'Search' | 'Bind'): Promise<number> {
    const { searchEntries } = await this.#client.search(`cn=${operation},cn=Operations,cn=Monitor`, { scope: 'base', attributes: ['monitorOpCompleted'] });
    return Number(searchEntries[0]?.monitorOpCompleted ?? 0);
  }

  async read(): Promise<LdapOps> {
    if (!this.#bound) {
      await this.#client.bind(this.#slapd.rootDn, this.#slapd.rootPassword);
      this.#bound = true;
      const first = { searches: await this.#completed('Search'), binds: await this.#completed('Bind') };
      const second = { searches: await this.#completed('Search'), binds: await this.#completed('Bind') };
      this.#overhead = { searches: second.searches - first.searches, binds: second.binds - first.binds };
    }
    return { searches: await this.#completed('Search'), binds: await this.#completed('Bind') };
  }

  /** Operations of others between two reads (meaningful while nothing else uses this slapd). */
  between(before: LdapOps, after: LdapOps): LdapOps {
    return { searches: after.searches - before.searches - this.#overhead.searches, binds: after.binds - before.binds - this.#overhead.binds };
  }

  close(): Promise<void> {
    return this.#client.unbind().catch(() => undefined);
  }
}

/** The IdP's directory section for that slapd, production defaults otherwise. */
export function directoryConfig(slapd: SlapdHandle): NonNullable<ConfigInput['directory']> {
  return {
    kind: 'ldap',
    urls: [slapd.url],
    bind: { dn: slapd.serviceDn, password: slapd.servicePassword },
    users: { baseDn: `ou=people,${BASE_DN}` },
    groups: { baseDn: `ou=groups,${BASE_DN}` },
  };
}
