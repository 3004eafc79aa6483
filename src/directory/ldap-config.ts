import { z } from 'zod';

/** Configuration of the LDAP / Active Directory directory. Owned here, imported by the config schema. */
const OPENLDAP_GROUPS = '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))';
const AD_GROUPS = '(objectClass=group)';

/**
 * Whether `filter` is one parenthesised RFC 4515 filter as far as its parentheses go ("(objectClass=x"
 * is the typical typo). Checked here so that the key is named at start; ldapts is not loaded for it,
 * since a local installation never loads ldapts. In a filter, a parenthesis inside a value is escaped as \28 and \29.
 */
function balancedFilter(filter: string): boolean {
  const text = filter.trim();
  if (!text.startsWith('(') || !text.endsWith(')')) return false;
  let depth = 0;
  for (const [index, character] of [...text].entries()) {
    if (character === '(') depth += 1;
    else if (character === ')') depth -= 1;
    // Closed before the end: two filters side by side, "(a=1)(b=2)", which needs an (&...) around it.
    if (depth < 0 || (depth === 0 && index < text.length - 1)) return false;
  }
  return depth === 0;
}
const FILTER_MESSAGE = 'must be one LDAP filter in parentheses, e.g. (objectClass=groupOfNames); check that every ( has its ), and put (&...) or (|...) around several';

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
    filter: z.string().includes('<username>').refine(balancedFilter, FILTER_MESSAGE).default('(uid=<username>)'),
    /** Alternate login attributes, e.g. ['mail']: a login that the filter and these find in different entries is refused as ambiguous. */
    alternateLoginAttributes: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/)).default([]),
    idAttribute: z.string().default('entryUUID'),
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
      filter: z.string().refine(balancedFilter, FILTER_MESSAGE).optional(),
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
