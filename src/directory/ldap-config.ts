import { z } from 'zod';

/** Configuration of the LDAP / Active Directory directory. Owned here, imported by the config schema. */
const OPENLDAP_GROUPS = '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))';
const AD_GROUPS = '(objectClass=group)';

type FilterGroup = { kind: 'set' | 'not' | 'item'; children: number };

/**
 * The one filter `text` stands for as ldapts reads it, written out in full; null when ldapts cannot
 * use it. ldapts puts parentheses around a bare filter ("uid=<username>") and closes the and (&),
 * or (|) and not (!) still open at the end ("(&(objectClass=person)(uid=<username>)" is read with
 * its last parenthesis), but refuses two filters side by side, a parenthesis too many, a simple
 * filter left open, a "(" inside a value (written \28 there, ")" as \29) and anything between the
 * filters of a set. Checked here, so that the key is named at start: ldapts is not loaded for it,
 * since a local installation never loads ldapts.
 */
export function completeFilter(text: string): string | null {
  const trimmed = text.trim();
  if (!trimmed) return null;
  const filter = trimmed.startsWith('(') ? trimmed : `(${trimmed})`;
  const open: FilterGroup[] = [];
  for (let index = 0; index < filter.length; index++) {
    const character = filter[index];
    const parent = open.at(-1);
    if (character === '(') {
      if (parent?.kind === 'item' || (parent === undefined && index > 0)) return null;
      if (parent) parent.children += 1;
      if (parent?.kind === 'not' && parent.children > 1) return null;
      const operator = filter[index + 1];
      open.push({ kind: operator === '&' || operator === '|' ? 'set' : operator === '!' ? 'not' : 'item', children: 0 });
      if (operator === '&' || operator === '|' || operator === '!') index += 1;
    } else if (character === ')') {
      const closed = open.pop();
      if (!closed || (closed.kind !== 'item' && closed.children === 0)) return null;
    } else if (parent?.kind !== 'item') {
      return null;
    }
  }
  if (open.some((group) => group.kind === 'item' || group.children === 0)) return null;
  return filter + ')'.repeat(open.length);
}
const USERS_FILTER_MESSAGE =
  'must be one LDAP filter, e.g. (&(objectClass=inetOrgPerson)(uid=<username>)); check that every ( has its ) (a parenthesis inside a value is written \\28 or \\29), and put (&...) or (|...) around several';
const GROUPS_FILTER_MESSAGE =
  'must be one LDAP filter, e.g. (objectClass=groupOfNames); check that every ( has its ) (a parenthesis inside a value is written \\28 or \\29), and put (&...) or (|...) around several';
const usableFilter = (filter: string): boolean => completeFilter(filter) !== null;

/** A filter of the configuration that ldapts reads as a longer one (see completeFilter). */
export interface CompletedFilter {
  key: 'directory.users.filter' | 'directory.groups.filter';
  written: string;
  usedAs: string;
}

/**
 * The configuration with each filter written out in full, as it is used, and the filters that were
 * not (a warning at start). groups.filter goes inside a longer filter, where a parenthesis it leaves
 * open would take the member clause in with it (every group would match): it is used completed too.
 */
export function withCompleteFilters(config: LdapDirectoryConfig): { config: LdapDirectoryConfig; completed: CompletedFilter[] } {
  const completed: CompletedFilter[] = [];
  const complete = (key: CompletedFilter['key'], written: string): string => {
    const usedAs = completeFilter(written) ?? written;
    if (usedAs !== written.trim()) completed.push({ key, written, usedAs });
    return usedAs;
  };
  const users = { ...config.users, filter: complete('directory.users.filter', config.users.filter) };
  const groups = { ...config.groups, filter: complete('directory.groups.filter', config.groups.filter) };
  return { config: { ...config, users, groups }, completed };
}

export const ldapDirectorySchema = z.object({
  kind: z.literal('ldap'),
  /** Primary first, then backups, tried in order when a server cannot be reached. ldap:// or ldaps://. */
  urls: z.array(z.string().regex(/^ldaps?:\/\/[^\s/]+\/?$/, 'must be ldap://host[:port] or ldaps://host[:port]')).min(1),
  startTls: z.boolean().default(false),
  tls: z
    .object({
      /** PEM file with the CA(s) that signed the directory's certificate. */
      caFile: z.string().optional(),
      /** Turning certificate validation off must be explicit. */
      rejectUnauthorized: z.boolean().default(true),
    })
    .prefault({}),
  /** Every this many seconds the server connects to each server and binds as the service account, and logs what changed; 0: never. */
  healthCheckSeconds: z.number().int().min(0).max(86_400).default(60),
  connectTimeoutMs: z.number().int().positive().default(15_000),
  searchTimeoutMs: z.number().int().positive().default(10_000),
  bind: z.object({ dn: z.string().min(1), password: z.string().min(1) }),
  backupBind: z.object({ dn: z.string().min(1), password: z.string().min(1) }).optional(),
  users: z.object({
    baseDn: z.string().min(1),
    /** `<username>` is replaced by the RFC 4515-escaped, normalised username. */
    filter: z.string().includes('<username>').refine(usableFilter, USERS_FILTER_MESSAGE).default('(uid=<username>)'),
    /** Alternate login attributes, e.g. ['mail']: a login that the filter and these find in different entries is refused as ambiguous. */
    alternateLoginAttributes: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/)).default([]),
    idAttribute: z.string().default('entryUUID'),
    /** Attributes whose values are bytes beyond the usual ones (ldap-binary-attributes.ts): released as base64, an id of one as base64url. */
    binaryAttributes: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/)).default([]),
    usernameAttribute: z.string().default('uid'),
    nameAttribute: z.string().default('cn'),
    emailAttribute: z.string().default('mail'),
    stripDomainPrefix: z.boolean().default(true),
    stripUpnSuffix: z.boolean().default(true),
  }),
  groups: z
    .object({
      /** `member`: search groups whose member attribute holds the user DN; `memberOf`: AD reverse lookup with the in-chain rule. */
      mode: z.enum(['member', 'memberOf']).default('member'),
      baseDn: z.string().optional(),
      /** Which entries are groups; by default those of the mode's directory (OPENLDAP_GROUPS, or AD's `group`). */
      filter: z.string().refine(usableFilter, GROUPS_FILTER_MESSAGE).optional(),
      memberAttribute: z.enum(['member', 'uniqueMember']).default('member'),
      nameAttribute: z.string().default('cn'),
      nestedDepth: z.number().int().min(0).max(10).default(2),
      /** How long group-in-group links (not a user's own memberships) are reused; 0 reads them at every sign-in. */
      nestedCacheSeconds: z.number().int().min(0).max(3600).default(60),
    })
    // AD's groups are objectClass=group: with OpenLDAP's filter the in-chain search of memberOf mode found none.
    .transform((groups) => ({ ...groups, filter: groups.filter ?? (groups.mode === 'memberOf' ? AD_GROUPS : OPENLDAP_GROUPS) }))
    .prefault({}),
  accountState: z
    .object({
      flavour: z.enum(['openldap-ppolicy', 'active-directory', 'none']).default('openldap-ppolicy'),
      passwordExpiryWarningDays: z.number().int().min(0).default(14),
    })
    .prefault({}),
  /** Connections per pool: one pool of service-bound connections for searches, one for user binds. */
  pool: z.object({ size: z.number().int().min(1).max(64).default(4) }).prefault({}),
});

export type LdapDirectoryConfig = z.infer<typeof ldapDirectorySchema>;
