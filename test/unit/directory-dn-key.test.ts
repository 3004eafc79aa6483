import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalDn, directoryDnKey } from '../../src/core/distinguished-names.ts';

test('the Turkish ı and İ are not i to the directory key: ı is another letter to slapd, and İ (i to slapd) is left for it to tell', () => {
  for (const other of ['cn=adm\u0131n,dc=x', 'cn=ADM\u0130N,dc=x']) {
    assert.notEqual(directoryDnKey(other), directoryDnKey('cn=admin,dc=x'), other);
    assert.equal(canonicalDn(other), canonicalDn('cn=admin,dc=x'), `policies still fold ${other} as admin`);
  }
});

test('the directory key decodes escapes and drops insignificant spaces and ASCII case as canonicalDn does', () => {
  const same = [
    ['cn=Sales\\, EMEA,ou=groups,dc=example,dc=org', 'CN = sales\\2c  emea , OU=Groups,DC=example,DC=org'],
    ['cn=Jos\\C3\\A9,dc=x', 'cn=JOS\u00e9,dc=x'],
    ['cn=a+uid=b,dc=x', 'UID=B + cn=A,dc=x'],
    ['cn=\\20Team   Lead\\20,dc=x', 'cn=team lead,dc=x'],
    ['commonName=Team,domainComponent=X', 'COMMONNAME=team,DOMAINCOMPONENT=x'],
  ];
  for (const [a, b] of same) assert.equal(directoryDnKey(a!), directoryDnKey(b!), `${a} = ${b}`);
  assert.notEqual(directoryDnKey('cn=jose,dc=x'), directoryDnKey('cn=jos\u00e9,dc=x'));
  assert.equal(directoryDnKey('cn=admins,,dc=x'), undefined);
});

test('nor does it fold one letter into another or into several: ß is not ss, final ς is not σ', () => {
  for (const [a, b] of [['cn=stra\u00dfe,dc=x', 'cn=strasse,dc=x'], ['cn=\u03bf\u03b4\u03bf\u03c2,dc=x', 'cn=\u03bf\u03b4\u03bf\u03c3,dc=x']]) {
    assert.notEqual(directoryDnKey(a!), directoryDnKey(b!), `${a} and ${b} are two entries to slapd`);
    assert.equal(canonicalDn(a!), canonicalDn(b!), `policies still fold ${a} as ${b}`);
  }
  assert.equal(directoryDnKey('cn=STRA\u00dfE,dc=x'), directoryDnKey('cn=stra\u00dfe,dc=x'), 'ASCII case still does not count');
});

test('nor any letter but ASCII ones, by case or compatibility: slapd folds such letters by tables of its own, unlike JavaScript\'s', () => {
  const apart = [
    ['cn=STRA\u1e9eE,dc=x', 'cn=stra\u00dfe,dc=x', 'capital sharp s: two entries to slapd'],
    ['cn=\u13a0,dc=x', 'cn=\uab70,dc=x', 'Cherokee: two entries to slapd'],
    ['cn=\u1c90,dc=x', 'cn=\u10d0,dc=x', 'Georgian Mtavruli: two entries to slapd'],
    ['cn=\u2160,dc=x', 'cn=i,dc=x', 'Roman numeral one: two entries to slapd'],
    ['cn=\uff41dmin,dc=x', 'cn=admin,dc=x', 'fullwidth: one entry to slapd, left for it to tell'],
    ['cn=\u00c9quipe,dc=x', 'cn=\u00e9quipe,dc=x', 'Latin-1 case: one entry to slapd, left for it to tell'],
    ['cn=\u039f\u0394\u039f\u03a3,dc=x', 'cn=\u03bf\u03b4\u03bf\u03c3,dc=x', 'Greek case: one entry to slapd, left for it to tell'],
    ['cn=e\u0301,dc=x', 'cn=\u00e9,dc=x', 'decomposed: one entry to slapd, left for it to tell'],
  ];
  for (const [a, b, why] of apart) {
    assert.notEqual(directoryDnKey(a!), directoryDnKey(b!), why);
    assert.notEqual(directoryDnKey(a!), undefined, a);
  }
});

test('nor white space but U+0020, nor a letter or space before a combining mark, nor case in a type slapd matches with case', () => {
  const apart = [
    ['cn=a\\09b,dc=x', 'cn=a b,dc=x', 'a tab is not a space to slapd'],
    ['cn=a\u00a0b,dc=x', 'cn=a b,dc=x', 'no-break space: left for the server to tell'],
    ['cn=xI\u0307y,dc=x', 'cn=xi\u0307y,dc=x', 'I + U+0307 may compose to İ before folding'],
    ['cn=x  \u0301y,dc=x', 'cn=x \u0301y,dc=x', 'spaces before a combining mark are kept'],
    ['labeledURI=Team,dc=x', 'labeledURI=team,dc=x', 'labeledURI matches with case (caseExactMatch)'],
    ['memberUid=Team,dc=x', 'memberUid=team,dc=x', 'memberUid matches with case (caseExactIA5Match)'],
    ['description=a  b,dc=x', 'description=a b,dc=x', 'types not known to every directory are compared as written'],
  ];
  for (const [a, b, why] of apart) assert.notEqual(directoryDnKey(a!), directoryDnKey(b!), why);
  assert.equal(directoryDnKey('labeledURI=Team,DC=X'), directoryDnKey('LABELEDURI=Team,dc=x'), 'type names and case-ignoring types still fold');
});
