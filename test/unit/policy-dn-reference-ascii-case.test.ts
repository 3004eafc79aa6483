import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/policy/policy-engine.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import { inGroup } from '../../src/policy/group-references.ts';
import { directoryDnKey } from '../../src/core/distinguished-names.ts';
import type { Policy } from '../../src/policy/policy-types.ts';

/**
 * ASCII case and U+0020 spaces never count in a DN a rule names, whatever the RDN's type: every
 * directory matches `mail` (caseIgnoreIA5Match) and `description`, `sn`, `serialNumber`
 * (caseIgnoreMatch) without case, and before policies told look-alikes apart a permit rule took all of
 * these in. Look-alikes beyond ASCII still do not count for a permit rule.
 */
const networks = compileNetworks({});
const now = Date.now();
const permitOnly = (reference: string): Policy => ({ name: 'p', description: '', source: 'custom', rules: [{ when: { groups: [reference] }, then: { effect: 'permit' } }, { then: { effect: 'deny' } }] });
const effect = (reference: string, memberOf: string) =>
  decide({ policy: permitOnly(reference), user: { id: 'u', username: 'alice', groups: [], groupDns: [memberOf], attributes: {} }, enrolledMethods: [], factors: [{ method: 'pwd', at: now }], network: { ip: '203.0.113.1' }, protocol: 'oidc', now }, networks).effect;

test('cn, ou and dc in another ASCII case are the same group', () => {
  assert.equal(effect('cn=admins,ou=groups,dc=example,dc=org', 'CN=Admins,OU=Groups,DC=Example,DC=org'), 'allow');
});

for (const [type, value] of [['mail', 'Admins@Example.org'], ['description', 'Admins'], ['serialNumber', 'A1'], ['sn', 'Admins']] as const) {
  test(`a ${type}= DN in another ASCII case is the same group`, () => {
    assert.equal(effect(`${type}=${value.toLowerCase()},ou=lists,dc=example,dc=org`, `${type}=${value},ou=lists,dc=example,dc=org`), 'allow');
  });
}

test('U+0020 spaces around and doubled inside a description= value do not count', () => {
  assert.equal(effect('description=sales emea,ou=lists,dc=example,dc=org', 'description=\\20Sales  EMEA\\20,ou=lists,dc=example,dc=org'), 'allow');
});

test('a mail= DN with letters beyond ASCII is a look-alike: held broadly only, so a permit rule does not let in', () => {
  const lookAlike = 'mail=\uFF41dmins@example.org,ou=lists,dc=example,dc=org';
  assert.equal(effect('mail=admins@example.org,ou=lists,dc=example,dc=org', lookAlike), 'deny');
  const user = { id: 'u', username: 'u', groups: [], groupDns: [lookAlike], attributes: {} };
  assert.ok(inGroup(user, 'mail=admins@example.org,ou=lists,dc=example,dc=org', 'broad'));
  assert.ok(!inGroup(user, 'mail=admins@example.org,ou=lists,dc=example,dc=org', 'narrow'));
});

test('which entry a DN names is still told apart as strictly as before (src/directory)', () => {
  assert.notEqual(directoryDnKey('mail=Admins@Example.org,dc=org'), directoryDnKey('mail=admins@example.org,dc=org'));
  assert.notEqual(directoryDnKey('labeledURI=Team,dc=org'), directoryDnKey('labeledURI=team,dc=org'));
  const kelvin = { id: 'u', username: 'u', groups: [], groupDns: ['cn=\u212Aiosk,ou=groups,dc=org'], attributes: {} };
  assert.ok(!inGroup(kelvin, 'cn=kiosk,ou=groups,dc=org', 'narrow') && inGroup(kelvin, 'cn=kiosk,ou=groups,dc=org', 'broad'), 'the Kelvin sign is k to foldCase only');
});
