import { createRequire } from 'node:module';
import { z } from 'zod';

/** Configuration of the LDAP / Active Directory directory. Owned here, imported by the config schema. */
const OPENLDAP_GROUPS = '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))';
const AD_GROUPS = '(objectClass=group)';

type FilterGroup = { kind: 'set' | 'not' | 'item'; children: number };

/**
 * The one filter `text` stands for as ldapts reads it, written out in full; null when its parentheses
 * do not make one filter for ldapts. ldapts puts parentheses around a bare filter ("uid=<username>")
 * and closes the and (&), or (|) and not (!) still open at the end ("(&(objectClass=person)(uid=<username>)"
 * is read with its last parenthesis), but refuses two filters side by side, a parenthesis too many, a
 * simple filter left open, a "(" inside a value (written \28 there, ")" as \29) and anything between
 * the filters of a set. What is inside each simple filter is left to filterProblem.
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

/**
 * The filter reading of sign-ins (ldap-filter.ts, over ldapts's parser), loaded when an LDAP filter is
 * first checked, not with the configuration schema: a local installation never loads ldapts. require(),
 * as the schema's checks are synchronous; Node loads the same module the directory imports later.
 */
const signInFilters = () => createRequire(import.meta.url)('./ldap-filter.ts') as typeof import('./ldap-filter.ts');

/** Any username: a users.filter is read with one in, as sign-ins hand it to ldapts. */
const SAMPLE_USERNAME = 'jdoe';

/** The simple filters of a filter ("(uid=<username>)"), not its &, | and ! groups. */
const SIMPLE_FILTER = /\((?![&|!])[^()]*\)/gu;

/**
 * Why `text` cannot be the users.filter (`kind` 'users') or the groups.filter, in words; undefined when
 * sign-ins can search with it. Its parentheses first (completeFilter); then ldapts reads it as the
 * server uses it: completed, and a users.filter with a username in. A filter ldapts refuses would start
 * the server and fail every sign-in as "directory unavailable"; the simple filter it refuses is named.
 */
export function filterProblem(text: string, kind: 'users' | 'groups'): string | undefined {
  const completed = completeFilter(text);
  if (completed === null) return kind === 'users' ? USERS_FILTER_MESSAGE : GROUPS_FILTER_MESSAGE;
  const { compileFilter, fillUserFilter } = signInFilters();
  const refusal = (filter: string): string | undefined => {
    try {
      compileFilter(kind === 'users' ? fillUserFilter(filter, SAMPLE_USERNAME) : filter);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  };
  const whole = refusal(completed);
  if (whole === undefined) return undefined;
  for (const simple of completed.match(SIMPLE_FILTER) ?? []) {
    const refused = refusal(simple);
    if (refused !== undefined) return simpleFilterProblem(simple, refused);
  }
  return `the LDAP library cannot read it: ${whole}`;
}

/** "attribute=", "attribute~=", ">=", "<=", or an extensible match ("cn:dn:=", ":1.2.3:="), as ldapts reads them. */
const SIMPLE_FILTER_START = /^\((?:[\w-]+(?:=|~=|>=|<=)|[\w-]*(?::dn)?(?::[\w.-]+)?:=)/u;

/** A backslash that does not start an escape (two hex digits): the hex digit it has, if one, and the character after. */
const NOT_AN_ESCAPE = /\\(?![0-9A-Fa-f]{2})([0-9A-Fa-f]?)(.?)/su;

/** `character` as LDAP filter escapes, one per UTF-8 byte: "," is \2C. */
const escapedAsHex = (character: string): string => [...Buffer.from(character, 'utf8')].map((byte) => `\\${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');

/**
 * What is wrong in one simple filter ldapts refuses; `refusal`: ldapts's words, for what is not named
 * here. An escape is shown with its JSON spelling too: in the configuration file a \ is written \\.
 */
function simpleFilterProblem(simple: string, refusal: string): string {
  const escape = NOT_AN_ESCAPE.exec(simple);
  if (escape) {
    const [written, hexDigit, after = ''] = escape;
    if (hexDigit) return `${written} in ${simple} is not an LDAP filter escape: a \\ is followed by two hex digits (a \\ itself is \\5C, "\\\\5C" in the JSON file)`;
    // A simple filter holds no other ")": this one ends it, and the \ before it escapes nothing.
    if (after === ')') return `${simple} ends in a \\ that escapes nothing: remove it (a \\ in a value is \\5C, "\\\\5C" in the JSON file)`;
    const hex = escapedAsHex(after);
    return `${written} in ${simple} is not an LDAP filter escape: write ${hex} ("${hex.replaceAll('\\', '\\\\')}" in the JSON file)`;
  }
  if (!SIMPLE_FILTER_START.test(simple)) return `${simple} does not start with an attribute and =, ~=, >= or <=: an attribute is letters, digits and - (or an extensible match such as cn:dn:=)`;
  return `the LDAP library cannot read ${simple}: ${refusal}`;
}

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
