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

test('nor does it fold one letter into another or into several: ß is not ss, final ς is not σ', () => {
  for (const [a, b] of [['cn=stra\u00dfe,dc=x', 'cn=strasse,dc=x'], ['cn=\u03bf\u03b4\u03bf\u03c2,dc=x', 'cn=\u03bf\u03b4\u03bf\u03c3,dc=x']]) {
    assert.notEqual(directoryDnKey(a!), directoryDnKey(b!), `${a} and ${b} are two entries to slapd`);
    assert.equal(canonicalDn(a!), canonicalDn(b!), `policies still fold ${a} as ${b}`);
  }
  assert.equal(directoryDnKey('cn=STRA\u00dfE,dc=x'), directoryDnKey('cn=stra\u00dfe,dc=x'), 'case still does not count');
  assert.equal(directoryDnKey('cn=\u039f\u0394\u039f\u03a3,dc=x'), directoryDnKey('cn=\u03bf\u03b4\u03bf\u03c3,dc=x'));
});
