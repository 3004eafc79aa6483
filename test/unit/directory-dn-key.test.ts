import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalDn, directoryDnKey } from '../../src/core/distinguished-names.ts';

test('the directory compares DNs as LDAP matches them: the Turkish ı and İ are letters of their own', () => {
  for (const other of ['cn=adm\u0131n,dc=x', 'cn=ADM\u0130N,dc=x']) {
    assert.notEqual(directoryDnKey(other), directoryDnKey('cn=admin,dc=x'), other);
    assert.equal(canonicalDn(other), canonicalDn('cn=admin,dc=x'), `policies still fold ${other} as admin`);
  }
});

test('the directory key decodes escapes and drops insignificant spaces and case as canonicalDn does', () => {
  const same = [
    ['cn=Sales\\, EMEA,ou=groups,dc=example,dc=org', 'CN = sales\\2c  emea , OU=Groups,DC=example,DC=org'],
    ['cn=Jos\\C3\\A9,dc=x', 'cn=JOSÉ,dc=x'],
    ['cn=a+uid=b,dc=x', 'UID=B + cn=A,dc=x'],
    ['cn=\uFF41dmin,dc=x', 'cn=Admin,dc=x'],
  ];
  for (const [a, b] of same) assert.equal(directoryDnKey(a!), directoryDnKey(b!), `${a} = ${b}`);
  assert.notEqual(directoryDnKey('cn=jose,dc=x'), directoryDnKey('cn=josé,dc=x'));
  assert.equal(directoryDnKey('cn=admins,,dc=x'), undefined);
});
