import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/policy/policy-engine.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import { groupReferenceProblem, inGroup } from '../../src/policy/group-references.ts';
import { canonicalDn, directoryDnKey, ldapCanonicalDn } from '../../src/core/distinguished-names.ts';
import type { Policy } from '../../src/policy/policy-types.ts';
import type { User } from '../../src/core/types.ts';

/**
 * White space in a DN a rule names, as slapd reads it (test/integration/dn-reference-white-space-slapd
 * checks the same spellings against slapd): unescaped space, tab, CR or LF at a value's ends is no
 * part of the value, escaped it is; a value of escaped spaces only names one group.
 */
const networks = compileNetworks({});
const now = Date.now();
const G = ',ou=g,dc=example,dc=org';
const member = (...groupDns: string[]): User => ({ id: 'u', username: 'alice', groups: [], groupDns, attributes: {} });
const effect = (policy: Policy, user: User) =>
  decide({ policy, user, enrolledMethods: [], factors: [{ method: 'pwd', at: now }], network: { ip: '203.0.113.1' }, protocol: 'oidc', now }, networks).effect;
const rule = (reference: string, then: 'permit' | 'deny'): Policy => ({
  name: 'p',
  description: '',
  source: 'custom',
  rules: [{ when: { groups: [reference] }, then: then === 'permit' ? { effect: 'permit' } : { effect: 'deny', message: 'no' } }, { then: { effect: then === 'permit' ? 'deny' : 'permit' } }],
});

test('a permit rule naming cn=<tab>admins does not let in the members of cn=\\09admins: to slapd it names cn=admins', () => {
  assert.equal(effect(rule(`cn=\tadmins${G}`, 'permit'), member(`cn=\\09admins${G}`)), 'deny');
  assert.equal(inGroup(member(`cn=\\09admins${G}`), `cn=\tadmins${G}`, 'narrow'), false);
  assert.equal(effect(rule(`cn=\tadmins${G}`, 'permit'), member(`cn=admins${G}`)), 'allow');
});

test('unescaped tab, CR, LF and space at either end of a DN value are left out, escaped ones kept', () => {
  for (const dnKey of [ldapCanonicalDn, directoryDnKey, canonicalDn]) {
    for (const raw of [`cn=\tadmins${G}`, `cn=admins\t${G}`, `cn=\r\nadmins \t${G}`]) assert.equal(dnKey(raw), dnKey(`cn=admins${G}`), JSON.stringify(raw));
    assert.equal(dnKey(`cn=admins\t+uid=\tx${G}`), dnKey(`uid=x+cn=admins${G}`), 'in each value of a multi-valued RDN');
    assert.equal(dnKey(`cn=x\\09\t${G}`), dnKey(`cn=x\\09${G}`), 'an escaped tab is kept, the raw one after it is not');
    assert.equal(dnKey(`cn=a\tb${G}`), dnKey(`cn=a\\09b${G}`), 'inside a value a raw tab is part of it');
  }
  for (const dnKey of [ldapCanonicalDn, directoryDnKey]) {
    assert.notEqual(dnKey(`cn=\\09admins${G}`), dnKey(`cn=admins${G}`), 'a tab is not a space to slapd');
    assert.notEqual(dnKey(`cn=admins\\09${G}`), dnKey(`cn=admins${G}`));
  }
});

test('white space right after an escaped backslash is kept, as slapd keeps it', () => {
  assert.equal(ldapCanonicalDn(`cn=x\\\\\t${G}`), ldapCanonicalDn(`cn=x\\5C\\09${G}`));
  assert.equal(inGroup(member(`cn=x\\5C${G}`), `cn=x\\\\\t${G}`, 'narrow'), false);
  assert.equal(ldapCanonicalDn(`cn=x\\5C\t${G}`), ldapCanonicalDn(`cn=x\\5C${G}`), 'after a hex-escaped backslash it is not');
});

test('a DN naming the group of escaped spaces only is a DN, and a deny rule for it holds', () => {
  for (const spelling of ['cn=\\20', 'cn=\\ ', 'cn=\\20\\20', 'cn=\\C2\\A0']) {
    assert.equal(groupReferenceProblem(`${spelling}${G}`), undefined, spelling);
    assert.equal(effect(rule(`${spelling}${G}`, 'deny'), member(`cn=\\20${G}`)), 'deny', spelling);
  }
  assert.ok(inGroup(member(`cn=\\20${G}`), `cn=\\ ${G}`, 'narrow'), 'the same spaces are the same group');
  assert.equal(effect(rule(`cn=\\ ${G}`, 'permit'), member(`cn=\\20${G}`)), 'allow');
  assert.equal(inGroup(member(`cn=\\09${G}`), `cn=\\20${G}`, 'narrow'), false, 'a tab is not a space to slapd');
  assert.equal(inGroup(member(`cn=a${G}`), `cn=\\20${G}`, 'broad'), false);
});

test('a DN value that is empty, or white space left unescaped only, is still no DN', () => {
  for (const empty of ['cn=', 'cn= ', 'cn=\t', 'cn= \r\n']) assert.notEqual(groupReferenceProblem(`${empty}${G}`), undefined, JSON.stringify(empty));
});

test('a raw no-break space as the whole value names the group of spaces only, as cn=\\C2\\A0 does: slapd finds cn=\\20 by both', () => {
  assert.equal(groupReferenceProblem(`cn=\u00A0${G}`), undefined);
  assert.equal(effect(rule(`cn=\u00A0${G}`, 'deny'), member(`cn=\\20${G}`)), 'deny');
  for (const dnKey of [ldapCanonicalDn, directoryDnKey, canonicalDn]) assert.equal(dnKey(`cn=\u00A0${G}`), dnKey(`cn=\\C2\\A0${G}`));
  assert.equal(inGroup(member(`cn=\\20${G}`), `cn=\u00A0${G}`, 'narrow'), false, 'narrowly a no-break space is left for the server to tell from a space');
});

test('a raw tab after an escaped comma at a value\'s end is left out, as slapd leaves it out: cn=a\\,<tab> is cn=a\\2C', () => {
  for (const dnKey of [ldapCanonicalDn, directoryDnKey, canonicalDn]) {
    for (const raw of [`cn=a\\,\t${G}`, `cn=a\\,\t\t${G}`, `cn=a\\2C\t${G}`]) assert.equal(dnKey(raw), dnKey(`cn=a\\2C${G}`), JSON.stringify(raw));
  }
  assert.equal(inGroup(member(`cn=a\\2C\\09${G}`), `cn=a\\,\t${G}`, 'narrow'), false);
  assert.equal(effect(rule(`cn=a\\,\t${G}`, 'permit'), member(`cn=a\\2C\\09${G}`)), 'deny');
  assert.equal(effect(rule(`cn=a\\,\t${G}`, 'permit'), member(`cn=a\\2C${G}`)), 'allow');
});
