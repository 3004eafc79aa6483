import { test } from 'node:test';
import assert from 'node:assert/strict';
import { userConditions } from '../../src/directory/ldap-filter.ts';

// users.filter is read for its conditions on every entry, its comparisons of the login taken as met
// (ldap-user-conditions.ts): the alternate-login search and the search by id are ANDed with them.
test('users.filter read for its conditions keeps them and takes comparisons of the login as met', () => {
  assert.equal(userConditions('(uid=<username>)').toString(), '(objectClass=*)');
  assert.equal(
    userConditions('(&(objectClass=user)(memberOf=cn=SSO,ou=groups,dc=example,dc=org)(|(sAMAccountName=<username>)(userPrincipalName=<username>)))').toString(),
    '(&(objectClass=user)(memberOf=cn=SSO,ou=groups,dc=example,dc=org)(|(objectClass=*)(objectClass=*)))',
  );
});

test('a comparison of the login under a negation is taken as met too, so that it leaves out no entry', () => {
  // Without the polarity, (!(uid=<username>-disabled)) read as (!(objectClass=*)) matched no entry:
  // every SSO reuse and refresh would have ended as if the account were gone.
  assert.equal(userConditions('(&(objectClass=person)(uid=<username>)(!(uid=<username>-disabled)))').toString(), '(&(objectClass=person)(objectClass=*)(!(!(objectClass=*))))');
  assert.equal(userConditions('(&(uid=<username>)(!(description=no-sso)))').toString(), '(&(objectClass=*)(!(description=no-sso)))');
});

test('a comparison of the login of any kind is taken as met: a substring, an extensible match, an approximate or an ordering one', () => {
  // One left standing compares the entry with the placeholder, which no entry holds: every alternate
  // login and every lookup by id (SSO reuse, refresh, userinfo) would then find no user at all.
  const cases: Array<[string, string]> = [
    ['(&(objectClass=person)(mail=<username>@*))', '(&(objectClass=person)(objectClass=*))'],
    ['(&(objectClass=person)(uid=*<username>*))', '(&(objectClass=person)(objectClass=*))'],
    ['(&(uid:caseExactMatch:=<username>)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))', '(&(objectClass=*)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))'],
    ['(&(cn~=<username>)(sn>=<username>)(sn<=<username>)(description=Qualit\\c3\\a4t))', '(&(objectClass=*)(objectClass=*)(objectClass=*)(description=Qualität))'],
  ];
  for (const [filter, conditions] of cases) assert.equal(userConditions(filter).toString(), conditions, filter);
});
