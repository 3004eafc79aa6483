import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/policy/policy-engine.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import { groupReferenceProblem, inGroup } from '../../src/policy/group-references.ts';
import { canonicalDn, ldapCanonicalDn } from '../../src/core/distinguished-names.ts';
import type { Policy } from '../../src/policy/policy-types.ts';
import type { User } from '../../src/core/types.ts';

/**
 * DNs in rules spelled as LDAPv2 wrote them (RFC 1779: a value in double quotes, `;` between RDNs),
 * which slapd reads, and spellings slapd refuses (test/integration/dn-reference-ldapv2-slapd checks
 * the same against slapd): narrowly a DN names only the group slapd finds by it, broadly that group.
 */
const networks = compileNetworks({});
const now = Date.now();
const G = ',ou=g,dc=example,dc=org';
const member = (...groupDns: string[]): User => ({ id: 'u', username: 'alice', groups: [], groupDns, attributes: {} });
const effect = (reference: string, then: 'permit' | 'deny', user: User) => {
  const policy: Policy = {
    name: 'p',
    description: '',
    source: 'custom',
    rules: [{ when: { groups: [reference] }, then: then === 'permit' ? { effect: 'permit' } : { effect: 'deny', message: 'no' } }, { then: { effect: then === 'permit' ? 'deny' : 'permit' } }],
  };
  return decide({ policy, user, enrolledMethods: [], factors: [{ method: 'pwd', at: now }], network: { ip: '203.0.113.1' }, protocol: 'oidc', now }, networks).effect;
};

test('a deny rule naming a quoted value holds for the group slapd reads it as: cn="Domain Admins" is cn=Domain Admins', () => {
  assert.equal(effect(`cn="Domain Admins"${G}`, 'deny', member(`cn=Domain Admins${G}`)), 'deny');
  assert.equal(effect(`cn= "admins" ${G}`, 'deny', member(`cn=admins${G}`)), 'deny', 'white space around the quotes is no part of the value');
  assert.equal(effect(`cn="Sales, EMEA"${G}`, 'deny', member(`cn=Sales\\2C EMEA${G}`)), 'deny', 'a comma inside the quotes is part of the value');
  assert.equal(groupReferenceProblem(`cn="Sales, EMEA"${G}`), undefined);
});

test('a permit rule naming a quoted value lets in that group, not a group whose name has the quotes', () => {
  assert.equal(effect(`cn="admins"${G}`, 'permit', member(`cn=admins${G}`)), 'allow');
  assert.equal(effect(`cn="admins"${G}`, 'permit', member(`cn=\\22admins\\22${G}`)), 'deny');
  assert.equal(inGroup(member(`cn=a\\22b${G}`), `cn="a\\"b"${G}`, 'narrow'), true, 'inside the quotes \\" is a quote');
  assert.equal(ldapCanonicalDn(`cn=" a "${G}`), ldapCanonicalDn(`cn=a${G}`), 'spaces at the ends inside the quotes do not count, as in any value');
});

test('a ; between RDNs is a comma, as slapd reads it', () => {
  const dn = 'cn=admins;ou=g;dc=example;dc=org';
  assert.equal(ldapCanonicalDn(dn), ldapCanonicalDn(`cn=admins${G}`));
  assert.equal(canonicalDn(dn), canonicalDn(`cn=admins${G}`));
  assert.equal(effect(dn, 'permit', member(`cn=admins${G}`)), 'allow');
  assert.equal(effect(`cn=admins ; ou=g${G.replace(/^,ou=g/, '')}`, 'deny', member(`cn=admins${G}`)), 'deny');
});

test('a value slapd refuses names no group narrowly, and the group it spells broadly', () => {
  for (const [reference, spelled] of [['cn=#b', 'cn=\\23b'], ['cn=\t#b', 'cn=\\23b'], ['cn=a<b', 'cn=a\\3Cb'], ['cn=a>b', 'cn=a\\3Eb'], ['cn=a"b', 'cn=a\\22b'], ['cn=R;D', 'cn=R\\3BD']] as const) {
    assert.equal(ldapCanonicalDn(`${reference}${G}`), undefined, reference);
    assert.equal(effect(`${reference}${G}`, 'permit', member(`${spelled}${G}`)), 'deny', `a permit rule for ${reference}`);
    assert.equal(effect(`${reference}${G}`, 'deny', member(`${spelled}${G}`)), 'deny', `a deny rule for ${reference}`);
  }
  assert.notEqual(ldapCanonicalDn(`cn=a\\#b${G}`), undefined, 'escaped, they are part of the value');
  assert.notEqual(ldapCanonicalDn(`cn=a#b${G}`), undefined, 'a # not first is a character');
});
