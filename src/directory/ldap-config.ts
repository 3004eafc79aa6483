import { z } from 'zod';
import { completeFilter, filterProblem } from './ldap-filter-syntax.ts';

/** Configuration of the LDAP / Active Directory directory. Owned here, imported by the config schema. */
const OPENLDAP_GROUPS = '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))';
const AD_GROUPS = '(objectClass=group)';

/** The zod check of a filter: filterProblem's words, under the filter's key. */
const reportFilterProblem = (kind: 'users' | 'groups') => (text: string, context: z.RefinementCtx) => {
  const problem = filterProblem(text, kind);
  if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
};

/** A filter of the configuration that ldapts reads as a longer one (see completeFilter). */
export interface CompletedFilter {
  key: 'directory.users.filter' | 'directory.groups.filter';
  written: string;
  usedAs: string;
}

/** What start-up logs and `directory test` warns of a filter used completed. */
export function completedWarning({ key, usedAs }: CompletedFilter): string {
  return `${key} is not one complete LDAP filter: it is used as ${usedAs}; write it so in the configuration`;
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

/** A DN: attribute=value pairs separated by commas (a comma inside a value is written \, or \2C). */
const DN = /^[A-Za-z][A-Za-z0-9-]*\s*=(?:[^,\\]|\\.)+(?:,\s*[A-Za-z][A-Za-z0-9-]*\s*=(?:[^,\\]|\\.)+)*$/su;

/** Why a URL of the right shape cannot be used: an IPv6 address outside brackets or with a zone, or a port out of range. */
function unusableLdapUrl(url: string): string {
  const host = url.replace(/^ldaps?:\/\//, '').replace(/\/$/, '');
  if (/:.*:/.test(host) || host.includes('%')) return 'is not a URL the connection can use; write an IPv6 address in brackets, without a zone: ldap://[2001:db8::10]:389';
  return 'is not a URL the connection can use: check the host name and the port (1 to 65535)';
}

/** A wait for the directory: bounded, as Node cuts a timer over 2^31-1 ms to 1 ms (every connection would time out at once). */
const timeoutMs = () => z.number().int().positive().max(600_000, 'must be at most 600000 (10 minutes)');

export const ldapDirectorySchema = z.object({
  kind: z.literal('ldap'),
  /** Primary first, then backups, tried in order when a server cannot be reached. ldap:// or ldaps://. */
  urls: z
    .array(
      z.string().superRefine((url, context) => {
        if (!/^ldaps?:\/\/[^\s/]+\/?$/.test(url)) context.addIssue({ code: 'custom', message: 'must be ldap://host[:port] or ldaps://host[:port]' });
        // The connection parses it as a URL: one it cannot parse would leave a directory never reached.
        else if (!URL.canParse(url)) context.addIssue({ code: 'custom', message: unusableLdapUrl(url) });
      }),
    )
    .min(1),
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
  connectTimeoutMs: timeoutMs().default(15_000),
  searchTimeoutMs: timeoutMs().default(10_000),
  bind: z.object({ dn: z.string().min(1), password: z.string().min(1) }),
  backupBind: z.object({ dn: z.string().min(1), password: z.string().min(1) }).optional(),
  users: z.object({
    baseDn: z.string().min(1),
    /** `<username>` is replaced by the RFC 4515-escaped, normalised username. */
    filter: z.string().includes('<username>').superRefine(reportFilterProblem('users')).default('(uid=<username>)'),
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
      filter: z.string().superRefine(reportFilterProblem('groups')).optional(),
      memberAttribute: z
        .enum(['member', 'uniqueMember'], {
          // posixGroup's memberUid is the usual wrong guess: it holds user names, which the member searches cannot match.
          error: 'must be "member" or "uniqueMember" (a group attribute holding member DNs); posixGroup memberUid, which holds user names, is not supported: see README "Connecting LDAP / Active Directory", Groups',
        })
        .default('member'),
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
      /**
       * slapd's default password policy (ppolicy_default), for users without pwdPolicySubentry: their
       * password's expiry is computed from its pwdMaxAge. The service account cannot read slapd's configuration to find it.
       */
      defaultPolicyDn: z.string().trim().regex(DN, `must be the DN of slapd's default password policy entry (its ppolicy_default), e.g. cn=default,ou=policies,dc=example,dc=org`).optional(),
    })
    .superRefine((state, context) => {
      if (state.defaultPolicyDn !== undefined && state.flavour !== 'openldap-ppolicy') {
        context.addIssue({ code: 'custom', path: ['defaultPolicyDn'], message: `is read only with accountState.flavour "openldap-ppolicy" (it is "${state.flavour}"): remove it` });
      }
    })
    .prefault({}),
  /** Connections per pool: one pool of service-bound connections for searches, one for user binds. */
  pool: z.object({ size: z.number().int().min(1).max(64).default(4) }).prefault({}),
});

export type LdapDirectoryConfig = z.infer<typeof ldapDirectorySchema>;
