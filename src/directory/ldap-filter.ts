/** Safe LDAP filters (RFC 4515), login normalisation and the "0 or 1 entries" user lookup. */
import {
  AndFilter,
  ApproximateFilter,
  EqualityFilter,
  ExtensibleFilter,
  FilterParser,
  GreaterThanEqualsFilter,
  LessThanEqualsFilter,
  NotFilter,
  OrFilter,
  SubstringFilter,
  type Entry,
  type Filter,
  type SearchOptions,
  type SearchResult,
} from 'ldapts';
import type { Logger } from 'pino';
import type { LdapDirectoryConfig } from './ldap-config.ts';
import { MAX_LOGIN_LENGTH } from './directory.ts';
import { LOGIN_PLACEHOLDER, withoutLogin } from './ldap-user-conditions.ts';

export type SearchFn = (baseDn: string, options: SearchOptions) => Promise<SearchResult>;
type UsersConfig = LdapDirectoryConfig['users'];

/** All values of an attribute as ldapts gave them, text or bytes (names are case-insensitive in LDAP; ldapts keeps the server's spelling). */
export function attributeValues(entry: Entry, name: string): Array<string | Buffer> {
  const wanted = name.toLowerCase();
  const key = Object.keys(entry).find((k) => k.toLowerCase() === wanted);
  return key === undefined ? [] : [entry[key]!].flat();
}

/** All values of an attribute, as text. */
export function entryValues(entry: Entry, name: string): string[] {
  return attributeValues(entry, name).map((v) => v.toString());
}

export function entryValue(entry: Entry, name: string): string | undefined {
  return entryValues(entry, name)[0];
}

/**
 * RFC 4515 assertion-value escaping. Besides the five mandatory characters, every control and
 * non-ASCII byte is written as UTF-8 hex, so the filter text is plain ASCII.
 */
export function escapeFilterValue(value: string | Buffer): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  let out = '';
  for (const b of bytes) {
    const special = b === 0x2a || b === 0x28 || b === 0x29 || b === 0x5c;
    out += special || b < 0x20 || b > 0x7e ? `\\${b.toString(16).padStart(2, '0')}` : String.fromCharCode(b);
  }
  return out;
}

/** Builds `(attr=value)` with the value escaped; attribute names come from configuration only. */
export function equalityFilter(attribute: string, value: string | Buffer): string {
  return `(${attribute}=${escapeFilterValue(value)})`;
}

/** Fills the `<username>` placeholder of a configured template; bare templates get their parentheses. */
export function fillUserFilter(template: string, username: string): string {
  const t = template.trim();
  return (t.startsWith('(') ? t : `(${t})`).split('<username>').join(escapeFilterValue(username));
}

function decodeValue(latin1: string): string | Buffer {
  const bytes = Buffer.from(latin1, 'latin1');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes;
  }
}

function textValue(latin1: string): string {
  const v = decodeValue(latin1);
  if (typeof v !== 'string') throw new Error('binary assertion values are only supported in equality filters');
  return v;
}

function fixValues(filter: Filter): void {
  if (filter instanceof AndFilter || filter instanceof OrFilter) filter.filters.forEach(fixValues);
  else if (filter instanceof NotFilter) fixValues(filter.filter);
  else if (filter instanceof EqualityFilter) filter.value = decodeValue(filter.value as string);
  else if (filter instanceof SubstringFilter) {
    filter.initial = textValue(filter.initial);
    filter.final = textValue(filter.final);
    filter.any = filter.any.map(textValue);
  } else if (
    filter instanceof ApproximateFilter ||
    filter instanceof GreaterThanEqualsFilter ||
    filter instanceof LessThanEqualsFilter ||
    filter instanceof ExtensibleFilter
  ) {
    filter.value = textValue(filter.value);
  }
}

/**
 * Parses a filter string for ldapts. ldapts un-escapes `\xx` one byte per character, which would
 * mangle UTF-8 (`\c3\a9` became "Ã©"); so the text is made pure ASCII first, after which each parsed
 * value is a byte string we decode as UTF-8 (or keep as bytes, e.g. an objectGUID).
 */
export function compileFilter(text: string): Filter {
  const ascii = text.replace(/[^\x00-\x7f]/gu, (ch) => escapeFilterValue(ch));
  const filter = FilterParser.parseString(ascii);
  fixValues(filter);
  return filter;
}

/**
 * Trims and strips `DOMAIN\` and `@suffix` when configured. Returns null for logins that can never be
 * valid (empty, too long, control characters) so they are refused before any directory traffic.
 */
export function normaliseLogin(login: string, users: Pick<UsersConfig, 'stripDomainPrefix' | 'stripUpnSuffix'>): string | null {
  let name = login.trim().normalize('NFC');
  if (!name || name.length > MAX_LOGIN_LENGTH || /[\u0000-\u001f\u007f]/u.test(name)) return null;
  if (users.stripDomainPrefix) {
    // NetBIOS-style domain names only, so a backslash elsewhere is kept (and escaped) as data
    const m = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}\\(.+)$/su.exec(name);
    if (m?.[1]) name = m[1];
  }
  if (users.stripUpnSuffix) {
    const at = name.lastIndexOf('@');
    if (at > 0) name = name.slice(0, at);
  }
  return name.trim() || null;
}

/**
 * users.filter's conditions on the entry, its `<username>` comparisons taken as met:
 * `(&(objectClass=user)(memberOf=cn=sso,…)(sAMAccountName=<username>))` asks `objectClass=user` and
 * the membership of every entry, whichever attribute found it (see ldap-user-conditions.ts).
 */
export function userConditions(usersFilter: string): Filter {
  let conditions = conditionsOfFilter.get(usersFilter);
  if (conditions === undefined) {
    conditions = withoutLogin(compileFilter(fillUserFilter(usersFilter, LOGIN_PLACEHOLDER)));
    conditionsOfFilter.set(usersFilter, conditions);
  }
  return conditions;
}

/**
 * users.filter's conditions, read once per filter (a configuration value): every alternate login,
 * SSO reuse and refresh needs them. Searches only read a filter, so one serves them all.
 */
const conditionsOfFilter = new Map<string, Filter>();

/** `filter`, for user entries that meet users.filter's conditions. */
export function meetingUserConditions(filter: Filter, usersFilter: string): Filter {
  return new AndFilter({ filters: [filter, userConditions(usersFilter)] });
}

/** Filter for the alternate login attributes (e.g. mail), matched against the login as typed. */
function alternateFilter(users: UsersConfig, login: string): string | null {
  const attrs = users.alternateLoginAttributes;
  if (attrs.length === 0) return null;
  const parts = attrs.map((a) => equalityFilter(a, login.trim()));
  return parts.length === 1 ? parts[0]! : `(|${parts.join('')})`;
}

export type UserLookup =
  | { entry: Entry }
  | { entry: null; reason: 'invalid-login' | 'not-found' }
  /** `dns`: the entries the login could mean, for the administrator (never shown to the user). */
  | { entry: null; reason: 'ambiguous'; dns: string[] };

/**
 * Finds the single entry for a login: the configured filter (with the reduced name) and the alternate
 * attributes (with the login as typed). A login must name one entry: more than one match of a filter,
 * or the filter and an alternate attribute finding different entries, is refused (and logged), never
 * resolved by picking one. Either pick would send one user's password to another's entry: with
 * stripUpnSuffix, Jane's mail `jsmith@example.org` reduces to John's uid `jsmith`, and John's UPN
 * `jsmith@corp.example` can be Jane's mail. Every filter is searched even when the first one matches,
 * so a login that exists costs the same searches as one that does not: response times do not tell
 * which logins exist.
 */
export async function findUserEntry(
  search: SearchFn,
  users: UsersConfig,
  login: string,
  attributes: string[],
  logger?: Logger,
): Promise<UserLookup> {
  const name = normaliseLogin(login, users);
  if (name === null) return { entry: null, reason: 'invalid-login' };
  const filters = [fillUserFilter(users.filter, name)];
  const alternate = alternateFilter(users, login);
  if (alternate) filters.push(alternate);
  // An alternate attribute finds only entries users.filter admits: its other conditions are the administrator's restrictions.
  const compiled = (filter: string): Filter => (filter === alternate ? meetingUserConditions(compileFilter(filter), users.filter) : compileFilter(filter));
  const results = await Promise.all(filters.map(async (filter) => ({ filter, ...(await search(users.baseDn, { scope: 'sub', filter: compiled(filter), attributes, sizeLimit: 2 })) })));
  const named = new Map<string, Entry>();
  for (const { filter, searchEntries } of results) {
    if (searchEntries.length > 1) {
      // sizeLimit 2: these are two of the entries, enough to find the collision
      const dns = searchEntries.map((entry) => entry.dn);
      logger?.warn({ event: 'ldap.user.ambiguous', filter, matches: dns.length, dns }, 'user filter matched more than one entry; refusing');
      return { entry: null, reason: 'ambiguous', dns };
    }
    const entry = searchEntries[0];
    if (entry && !named.has(entry.dn.toLowerCase())) named.set(entry.dn.toLowerCase(), entry);
  }
  const [entry, ...others] = named.values();
  if (others.length > 0) {
    const dns = [...named.values()].map((e) => e.dn);
    logger?.warn({ event: 'ldap.user.ambiguous', filters, matches: dns.length, dns }, 'the user filter and an alternate login attribute found different entries; refusing');
    return { entry: null, reason: 'ambiguous', dns };
  }
  return entry ? { entry } : { entry: null, reason: 'not-found' };
}
