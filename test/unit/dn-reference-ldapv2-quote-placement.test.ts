import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalDn, ldapCanonicalDn } from '../../src/core/distinguished-names.ts';

/**
 * Where a double quote opens an LDAPv2 quoted value and what may follow its close, as slapd reads
 * them: a quote that does not open a value, or text after a closing one, makes a DN slapd refuses,
 * and narrowly (a rule that lets in) such a DN must name no group, not the group its letters spell.
 */
const G = ',ou=g,dc=example,dc=org';

test('a quote inside a value, after an escape or after other characters, opens nothing: slapd refuses the DN', () => {
  for (const reference of [`cn=a"b"${G}`, `cn=\\a"b"${G}`, `cn=\\41"b"${G}`, `cn= a "b"${G}`]) {
    assert.equal(ldapCanonicalDn(reference), undefined, reference);
    assert.notEqual(canonicalDn(reference), canonicalDn(`cn=ab${G}`), `${reference} is not cn=ab, even broadly`);
  }
});

test('a quoted value is closed, not empty, and followed only by white space and a separator', () => {
  for (const reference of [`cn="admins${G}`, `cn="a"b${G}`, `cn="a" b${G}`, `cn=""${G}`]) assert.equal(ldapCanonicalDn(reference), undefined, reference);
});

test('a quoted value may end its RDN with a ; (LDAPv2\'s separator), and with white space before it', () => {
  for (const reference of ['cn="admins";ou=g;dc=example;dc=org', 'cn="admins" ;ou=g,dc=example,dc=org', `cn="admins" + uid=x${G}`]) {
    assert.notEqual(ldapCanonicalDn(reference), undefined, reference);
  }
  assert.equal(ldapCanonicalDn('cn="admins";ou=g;dc=example;dc=org'), ldapCanonicalDn(`cn=admins${G}`));
  assert.equal(canonicalDn('cn="admins" ;ou=g,dc=example,dc=org'), canonicalDn(`cn=admins${G}`));
});

test('a control character inside quotes is that character: a tab is \\09, not the digit 9', () => {
  assert.equal(ldapCanonicalDn(`cn="a\tb"${G}`), ldapCanonicalDn(`cn=a\\09b${G}`));
  assert.notEqual(ldapCanonicalDn(`cn="a\tb"${G}`), ldapCanonicalDn(`cn=a9b${G}`));
});

test('an escaped <, > or " is part of the value, unescaped slapd refuses it', () => {
  for (const char of ['<', '>', '"']) {
    assert.notEqual(ldapCanonicalDn(`cn=a\\${char}b${G}`), undefined, `\\${char}`);
    assert.equal(ldapCanonicalDn(`cn=a\\${char}b${G}`), ldapCanonicalDn(`cn=a\\${char.charCodeAt(0).toString(16)}b${G}`));
  }
});
