/**
 * The configured base DNs, read before they are needed: a base that does not exist fails every
 * sign-in, and the directory's answer (LDAP 32, no such object) names no setting.
 */
import { DirectoryMisconfiguredError } from './directory.ts';
import type { LdapDirectoryConfig } from './ldap-config.ts';
import { describeError, isLdapResult, isReferral } from './ldap-errors.ts';
import type { SearchFn } from './ldap-filter.ts';

const NO_SUCH_OBJECT = 32;

/** The base DNs of the configuration, by key; groups.baseDn only when it is set (its default lies above users.baseDn). */
function configuredBaseDns(config: LdapDirectoryConfig): Array<{ key: 'users.baseDn' | 'groups.baseDn'; dn: string }> {
  const groups = config.groups.baseDn === undefined ? [] : [{ key: 'groups.baseDn' as const, dn: config.groups.baseDn }];
  return [{ key: 'users.baseDn', dn: config.users.baseDn }, ...groups];
}

/**
 * "users.baseDn ou=nope,dc=example,dc=org does not exist": what an LDAP 32 under a configured base
 * means. Or it is hidden: slapd answers 32 for an entry the requester may not see, so the DN may be
 * right and the service account's access the thing to fix.
 */
function missingBaseDn(key: string, dn: string, config: LdapDirectoryConfig): string {
  return `${key} ${dn} does not exist (LDAP ${NO_SUCH_OBJECT} no such object), or the service account (bind.dn ${config.bind.dn}) may not read it: correct directory.${key}, or let the service account read it`;
}

/**
 * What an LDAP 10 (referral) for a configured base means: the server does not hold that part of the
 * tree (Active Directory: another domain of the forest). Stepgate does not follow referrals.
 */
function referredBaseDn(key: string, dn: string, err: unknown): string {
  return `${key} ${dn} is not held by this server: ${describeError(err)}; point directory.urls at a server that holds it (Active Directory: a domain controller of that domain, or the Global Catalog, ports 3268/3269, for a base spanning the forest)`;
}

/** Whether `err` is the directory's "no such object" (a base DN, or the entry read, does not exist). */
export function isNoSuchObject(err: unknown): boolean {
  return isLdapResult(err) && err.code === NO_SUCH_OBJECT;
}

/**
 * Reads each configured base DN; a missing one throws DirectoryMisconfiguredError naming its key, any
 * other failure is thrown as it is. Says what it read.
 */
export async function checkBaseDns(search: SearchFn, config: LdapDirectoryConfig): Promise<string> {
  const bases = configuredBaseDns(config);
  for (const { key, dn } of bases) {
    try {
      await search(dn, { scope: 'base', attributes: ['1.1'] });
    } catch (err) {
      if (isNoSuchObject(err)) throw new DirectoryMisconfiguredError(missingBaseDn(key, dn, config));
      if (isReferral(err)) throw new DirectoryMisconfiguredError(referredBaseDn(key, dn, err));
      throw err;
    }
  }
  return `${bases.map(({ key, dn }) => `${key} ${dn}`).join(' and ')} exist${bases.length === 1 ? 's' : ''}`;
}

/** The log's words for an error met under `base`: a missing configured base DN is named with its key. */
export function describeSearchError(err: unknown, base: string, config: LdapDirectoryConfig): string {
  if (!isNoSuchObject(err)) return describeError(err);
  const known = configuredBaseDns(config).find(({ dn }) => dn.toLowerCase() === base.toLowerCase());
  return known ? missingBaseDn(known.key, known.dn, config) : `${base} does not exist (LDAP ${NO_SUCH_OBJECT} no such object), or the service account may not read it`;
}
