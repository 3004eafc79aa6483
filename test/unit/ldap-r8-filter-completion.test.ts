import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, ConfigError } from '../../src/config/load.ts';
import { ldapDirectorySchema, withCompleteFilters } from '../../src/directory/ldap-config.ts';
import { completeFilter, filterProblem } from '../../src/directory/ldap-filter-syntax.ts';
import { compileFilter, fillUserFilter } from '../../src/directory/ldap-filter.ts';

// A users.filter or groups.filter that ldapts reads (an earlier version signed users in with it)
// starts the server, used as the complete filter ldapts read; only one ldapts cannot use stops it.

const LDAP = { kind: 'ldap', urls: ['ldap://dc1'], bind: { dn: 'cn=svc', password: 'x' }, users: { baseDn: 'dc=x' } } as const;

/** How the server hands a user filter to ldapts (the username filled in, compileFilter), and ldapts's reading of it. */
function ldaptsReads(filter: string): string | null {
  try {
    return JSON.stringify(compileFilter(fillUserFilter(filter, 'alice')));
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
  '(&(uid=<username>)(description=a\\5Cb*))',
  '(&(uid~=<username>)(uidNumber>=1000)(uidNumber<=60000))',
  '(&(cn:dn:=<username>)(:1.2.840.113556.1.4.1941:=x))',
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
  // its parentheses make one filter, but ldapts cannot read what is inside one of them
  '(&(memberOf=cn=Smith\\, John,ou=g,dc=x)(uid=<username>))',
  '(uid=<username>\\)',
  '(=<username>)',
  '(ui d=<username>)',
  '(&(uid=<username>)(cn=a\\4))',
  '(&(uid=<username>)(cn=\\ff*))',
];

test('a filter is accepted exactly when ldapts reads it, and used as the filter ldapts read', () => {
  for (const filter of FILTERS) {
    const read = ldaptsReads(filter);
    const problem = filterProblem(filter, 'users');
    assert.equal(problem === undefined, read !== null, `${filter}: ${problem ?? 'accepted'}, ldapts ${read}`);
    if (problem !== undefined) continue;
    const completed = completeFilter(filter)!;
    assert.equal(ldaptsReads(completed), read, `${filter} is used as ${completed}, which ldapts reads the same`);
    assert.equal(completeFilter(completed), completed, 'a complete filter is used as it is');
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

test('a simple filter ldapts cannot read stops the start, naming the key and what to write', () => {
  const refused = (directory: Record<string, unknown>): string[] => {
    try {
      parseConfig({ directory: { ...LDAP, ...directory } });
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.issues;
    }
    return assert.fail('expected a ConfigError');
  };
  // a DN's escape is not a filter's: ldapts stops at "\, " ("Invalid escaped hex character"), and every sign-in failed
  assert.deepEqual(refused({ users: { baseDn: 'dc=x', filter: '(&(memberOf=cn=Smith\\, John,ou=g,dc=x)(uid=<username>))' } }), [
    'directory.users.filter: \\, in (memberOf=cn=Smith\\, John,ou=g,dc=x) is not an LDAP filter escape: write \\2C ("\\\\2C" in the JSON file)',
  ]);
  assert.deepEqual(refused({ groups: { filter: '(&(objectClass=group)(cn=a\\4))' } }), [
    'directory.groups.filter: \\4) in (cn=a\\4) is not an LDAP filter escape: a \\ is followed by two hex digits (a \\ itself is \\5C, "\\\\5C" in the JSON file)',
  ]);
  assert.deepEqual(refused({ users: { baseDn: 'dc=x', filter: '(uid=<username>\\)' } }), [
    'directory.users.filter: (uid=<username>\\) ends in a \\ that escapes nothing: remove it (a \\ in a value is \\5C, "\\\\5C" in the JSON file)',
  ]);
  for (const filter of ['(=<username>)', '(ui d=<username>)']) {
    assert.deepEqual(refused({ users: { baseDn: 'dc=x', filter } }), [
      `directory.users.filter: ${filter} does not start with an attribute and =, ~=, >= or <=: an attribute is letters, digits and - (or an extensible match such as cn:dn:=)`,
    ]);
  }
  // bytes that are not UTF-8 go in equality matches only (compileFilter): said in the library's words
  assert.deepEqual(refused({ groups: { filter: '(cn=\\ff*)' } }), ['directory.groups.filter: the LDAP library cannot read (cn=\\ff*): binary assertion values are only supported in equality filters']);
});
