/**
 * posixGroup entries (RFC 2307, nss/pam-ldap setups) list their members by user name in memberUid,
 * not by DN: sign-ins never find a user in them. `directory test --user` names those that list the
 * user, as it names groups of the other member attribute: a rule permitting such a group refuses the
 * user, and one denying it admits them, without a word anywhere else.
 */
import { compileFilter, equalityFilter, type SearchFn } from './ldap-filter.ts';
import { dnGroupName } from './ldap-group-names.ts';

/** How many such groups the warning names; one more is searched for, to say there are more. */
const NAMED = 5;

/**
 * The posixGroups under `base` whose memberUid holds one of `usernames` and that are not among the
 * user's groups already (`groupDns`: an rfc2307bis group has `member` too). This search's own failure
 * is no finding: the user's groups were resolved, and it says nothing then.
 */
export async function posixGroupWarning(search: SearchFn, base: string, usernames: string[], groupDns: string[], nameAttribute: string): Promise<string | undefined> {
  if (usernames.length === 0) return undefined;
  const byName = usernames.map((name) => equalityFilter('memberUid', name)).join('');
  const filter = compileFilter(`(&(objectClass=posixGroup)(|${byName}))`);
  const known = new Set(groupDns.map((dn) => dn.toLowerCase()));
  const entries = await search(base, { scope: 'sub', filter, attributes: ['1.1'], sizeLimit: NAMED + known.size + 1 }).then(
    (result) => result.searchEntries.filter((entry) => !known.has(entry.dn.toLowerCase())),
    () => [],
  );
  if (entries.length === 0) return undefined;
  const names = entries.slice(0, NAMED).map((entry) => JSON.stringify(dnGroupName(entry.dn, nameAttribute)));
  const more = entries.length > NAMED ? ' and more' : '';
  return (
    `the user is listed by name in memberUid of posixGroup ${names.join(', ')}${more} under ${base}, which sign-ins do not read: posixGroup members are not found, ` +
    'so these groups are not among the user\'s groups and rules naming them do not match; give such groups a member attribute (rfc2307bis) or keep them out of policies (README "Connecting LDAP / Active Directory", Groups)'
  );
}
