/**
 * Whether a filter written in the configuration is one LDAP filter that sign-ins can search with, in
 * words when it is not, and the filter ldapts reads it as (completed).
 */
import { createRequire } from 'node:module';

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
