import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FilterParser } from 'ldapts';
import { parseConfig, ConfigError } from '../../src/config/load.ts';
import { completeFilter, ldapDirectorySchema, withCompleteFilters } from '../../src/directory/ldap-config.ts';
import { fillUserFilter } from '../../src/directory/ldap-filter.ts';

// A users.filter or groups.filter that ldapts reads (an earlier version signed users in with it)
// starts the server, used as the complete filter ldapts read; only one ldapts cannot use stops it.

const LDAP = { kind: 'ldap', urls: ['ldap://dc1'], bind: { dn: 'cn=svc', password: 'x' }, users: { baseDn: 'dc=x' } } as const;

/** How the server hands a user filter to ldapts (the username filled in), and ldapts's reading of it. */
function ldaptsReads(filter: string): string | null {
  try {
    return JSON.stringify(FilterParser.parseString(fillUserFilter(filter, 'alice')));
  } catch {
    return null;
  }
}

const FILTERS = [
  '(uid=<username>)',
  'uid=<username>',
  ' (uid=<username>) ',
  '(&(objectClass=inetOrgPerson)(uid=<username>)',
  '(&(objectClass=inetOrgPerson)(uid=<username>))',
  '(&(objectClass=inetOrgPerson)(|(uid=<username>)(mail=<username>)',
  '(|(&(objectClass=person)(uid=<username>))(cn=<username>)',
  '(!(uid=<username>)',
  '&(objectClass=person)(uid=<username>)',
  '(&(uid=<username>)(!(cn=a\\29b)))',
  // what ldapts refuses
  '(uid=<username>',
  '(uid=<username>))',
  '(objectClass=person)(uid=<username>)',
  '(&(objectClass=person) (uid=<username>))',
  '(cn=a(b)(uid=<username>)',
  '(&(uid=<username>)(cn=a(b)))',
  '(!(uid=<username>)(cn=x))',
  '(&)(uid=<username>)',
  '(uid=<username>)x',
  ')(uid=<username>',
];

test('a filter is accepted exactly when ldapts reads it, and used as the filter ldapts read', () => {
  for (const filter of FILTERS) {
    const read = ldaptsReads(filter);
    const completed = completeFilter(filter);
    assert.equal(completed !== null, read !== null, `${filter}: completed ${completed}, ldapts ${read}`);
    if (completed !== null) assert.equal(ldaptsReads(completed), read, `${filter} is used as ${completed}, which ldapts reads the same`);
    if (completed !== null) assert.equal(completeFilter(completed), completed, 'a complete filter is used as it is');
  }
});

test('the filter an earlier version signed users in with starts the server, named with the filter it is used as', () => {
  const config = parseConfig({ directory: { ...LDAP, users: { baseDn: 'dc=x', filter: '(&(objectClass=inetOrgPerson)(uid=<username>)' }, groups: { filter: '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)' } } });
  assert.equal(config.directory.kind, 'ldap');
  if (config.directory.kind !== 'ldap') return;
  const { config: used, completed } = withCompleteFilters(config.directory);
  assert.equal(used.users.filter, '(&(objectClass=inetOrgPerson)(uid=<username>))');
  // inside the group search, the open (| would otherwise take the member clause in: every group would match
  assert.equal(used.groups.filter, '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))');
  assert.deepEqual(completed.map(({ key, usedAs }) => [key, usedAs]), [
    ['directory.users.filter', '(&(objectClass=inetOrgPerson)(uid=<username>))'],
    ['directory.groups.filter', '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))'],
  ]);
  assert.deepEqual(withCompleteFilters(ldapDirectorySchema.parse(LDAP)).completed, [], 'the defaults are complete');
});

test('a filter ldapts cannot use stops the start, with an example of its own kind', () => {
  const refused = (directory: Record<string, unknown>): string => {
    try {
      parseConfig({ directory: { ...LDAP, ...directory } });
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.message;
    }
    return assert.fail('expected a ConfigError');
  };
  const users = refused({ users: { baseDn: 'dc=x', filter: '(uid=<username>' } });
  assert.match(users, /^ {2}- directory\.users\.filter: must be one LDAP filter, e\.g\. \(&\(objectClass=inetOrgPerson\)\(uid=<username>\)\);/m);
  const groups = refused({ groups: { filter: '(objectClass=a)(objectClass=b)' } });
  assert.match(groups, /^ {2}- directory\.groups\.filter: must be one LDAP filter, e\.g\. \(objectClass=groupOfNames\);/m);
});
