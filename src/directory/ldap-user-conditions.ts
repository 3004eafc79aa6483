/**
 * What users.filter asks of every user entry besides the login: administrators write their sign-in
 * restrictions there (an object class, an "enabled" attribute, membership of an SSO group). An entry
 * found another way, by an alternate login attribute or by its id, must meet them too, or a user the
 * filter leaves out signs in by mail and keeps the sessions and tokens of an earlier sign-in.
 */
import {
  AndFilter,
  ApproximateFilter,
  EqualityFilter,
  ExtensibleFilter,
  GreaterThanEqualsFilter,
  LessThanEqualsFilter,
  NotFilter,
  OrFilter,
  PresenceFilter,
  SubstringFilter,
  type Filter,
} from 'ldapts';

/** Stands for the login while users.filter is read for its conditions (userConditions in ldap-filter.ts). */
export const LOGIN_PLACEHOLDER = 'stepgate-login-placeholder-7f3c9a';

/** Whether a comparison of the filter holds the login. */
function comparesLogin(filter: Filter): boolean {
  if (filter instanceof EqualityFilter) return filter.value.toString().includes(LOGIN_PLACEHOLDER);
  if (filter instanceof SubstringFilter) return [filter.initial, filter.final, ...filter.any].some((part) => part.includes(LOGIN_PLACEHOLDER));
  if (filter instanceof ApproximateFilter || filter instanceof GreaterThanEqualsFilter || filter instanceof LessThanEqualsFilter || filter instanceof ExtensibleFilter) {
    return filter.value.includes(LOGIN_PLACEHOLDER);
  }
  return false;
}

/**
 * The filter with every comparison of the login taken as met: `(objectClass=*)`, which every entry
 * matches, or under a negation its opposite, so that `(!(uid=<username>-disabled))` stays met too
 * instead of leaving out every entry.
 */
export function withoutLogin(filter: Filter, negated = false): Filter {
  if (filter instanceof AndFilter || filter instanceof OrFilter) filter.filters = filter.filters.map((part) => withoutLogin(part, negated));
  else if (filter instanceof NotFilter) filter.filter = withoutLogin(filter.filter, !negated);
  else if (comparesLogin(filter)) return negated ? new NotFilter({ filter: everyEntry() }) : everyEntry();
  return filter;
}

function everyEntry(): Filter {
  return new PresenceFilter({ attribute: 'objectClass' });
}
