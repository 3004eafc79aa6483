import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/policy/policy-engine.ts';
import { toPolicy } from '../../src/policy/templates.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import { groupReferenceProblem, inGroup } from '../../src/policy/group-references.ts';
import type { Policy } from '../../src/policy/policy-types.ts';
import type { User } from '../../src/core/types.ts';

/**
 * A group condition names one group: by name, a group of exactly that name (case aside); by DN,
 * exactly that entry (RFC 4514 spelling aside). Groups whose name or DN merely contains it, ends
 * with it or sits under it in the tree are other groups, whether the rule permits, denies or asks
 * for MFA. Wildcards belong to attribute conditions (memberOf), never to group references.
 */
const NOW = Date.parse('2026-11-22T10:00:00Z');
const networks = compileNetworks({});
const ADMINS_DN = 'cn=admins,ou=groups,dc=example,dc=org';

function member(username: string, groups: string[], groupDns: string[] = [], memberof: string[] = []): User {
  return { id: `${username}-id`, username, groups, groupDns, attributes: memberof.length ? { memberof } : {} };
}

/** In the group the rules name: by name and by DN, as the directory spells them. */
const ada = member('ada', ['Admins'], ['CN=Admins,OU=Groups,DC=example,DC=org']);
/** Members of other groups whose names contain, start or end with "admins". */
const byName = [
  member('sam', ['sysadmins']),
  member('otto', ['admins-old']),
  member('nina', ['not-admins']),
  member('max', ['admins2', 'xadmins', 'admins admins']),
];
/** Members of other groups whose DNs share a suffix or a prefix with the admins DN, or sit under it. */
const byDn = [
  member('lab', ['admins'], ['cn=admins,ou=lab,dc=example,dc=org'], ['cn=admins,ou=lab,dc=example,dc=org']),
  member('dep', ['deputies'], ['cn=deputies,cn=admins,ou=groups,dc=example,dc=org'], ['cn=deputies,cn=admins,ou=groups,dc=example,dc=org']),
  member('sys', ['sysadmins'], ['cn=sysadmins,ou=groups,dc=example,dc=org'], ['cn=sysadmins,ou=groups,dc=example,dc=org']),
  member('old', ['admins-old'], ['cn=admins-old,ou=groups,dc=example,dc=org'], ['cn=admins-old,ou=groups,dc=example,dc=org']),
  member('sub', ['admins'], ['cn=admins,ou=groups,dc=example,dc=org,o=parent']),
];

const factors = [{ method: 'pwd' as const, at: NOW }];
const effect = (policy: Policy, user: User) => decide({ policy, user, enrolledMethods: ['totp'], factors, network: { ip: '198.51.100.1' }, protocol: 'saml', now: NOW }, networks).effect;
const permitOnly = (group: string) => toPolicy({ name: 'permit', template: 'permit-specific-groups', parameters: { groups: [group] } }, 'custom');
const mfaFor = (group: string) => toPolicy({ name: 'mfa', template: 'permit-everyone-require-mfa-for-groups', parameters: { groups: [group] } }, 'custom');
const denyThenPermit = (group: string): Policy => ({ name: 'deny', description: '', source: 'custom', rules: [{ when: { groups: [group] }, then: { effect: 'deny', message: 'Not for admins.' } }, { then: { effect: 'permit' } }] });

describe('a group rule admits exactly its group, never near-misses', () => {
  for (const [reference, others] of [
    ['admins', byName],
    [ADMINS_DN, [...byName, ...byDn]],
  ] as const) {
    test(`${reference}: the member matches, groups that contain, prefix, suffix or nest under it do not`, () => {
      assert.ok(inGroup(ada, reference), 'the member of the group');
      assert.equal(effect(permitOnly(reference), ada), 'allow');
      assert.equal(effect(denyThenPermit(reference), ada), 'deny');
      assert.equal(effect(mfaFor(reference), ada), 'step-up');
      for (const other of others) {
        const who = `${other.username} (${[...other.groups, ...(other.groupDns ?? [])].join(' | ')})`;
        assert.equal(inGroup(other, reference), false, who);
        assert.equal(effect(permitOnly(reference), other), 'deny', `${who}: a permit rule for ${reference} does not let them in`);
        assert.equal(effect(denyThenPermit(reference), other), 'allow', `${who}: a deny rule for ${reference} does not refuse them`);
        assert.equal(effect(mfaFor(reference), other), 'allow', `${who}: an MFA rule for ${reference} is not theirs`);
      }
    });
  }

  test('a plain name matches a group of that name anywhere in the tree (by design), a DN only that one entry', () => {
    const lab = byDn[0]!;
    assert.ok(inGroup(lab, 'admins'), "the lab's admins are admins by name");
    assert.equal(inGroup(lab, ADMINS_DN), false, 'but not the admins of ou=groups');
  });

  test('a DN of an OU or of the suffix names no group: members of groups under it do not match', () => {
    for (const container of ['ou=groups,dc=example,dc=org', 'dc=example,dc=org', 'dc=org']) {
      for (const user of [ada, ...byDn]) {
        assert.equal(inGroup(user, container), false, `${user.username} for ${container}`);
        assert.equal(effect(permitOnly(container), user), 'deny', `${user.username}: a permit rule for ${container}`);
      }
    }
  });

  test('a * in a group reference is no wildcard (a name with one is refused when saved; in a DN it is a character of the value); memberOf patterns are where wildcards work', () => {
    for (const name of ['admin*', '*admins', '*']) assert.match(groupReferenceProblem(name) ?? '', /has a wildcard, which group conditions do not support/, name);
    for (const reference of ['admin*', '*admins', '*', 'cn=admin*,ou=groups,dc=example,dc=org', 'cn=*,ou=groups,dc=example,dc=org']) {
      assert.equal(inGroup(ada, reference), false, reference);
      for (const other of [...byName, ...byDn]) assert.equal(inGroup(other, reference), false, `${other.username} for ${reference}`);
    }
    const memberOfPattern: Policy = { name: 'pattern', description: '', source: 'custom', rules: [{ when: { attributes: { memberOf: ['cn=admins,*'] } }, then: { effect: 'permit' } }] };
    assert.equal(effect(memberOfPattern, member('lab', [], [], ['CN=Admins,OU=Lab,DC=example,DC=org'])), 'allow', 'the documented way to match admins of any OU');
    for (const other of byDn.filter((user) => !/^cn=admins,/.test(user.attributes.memberof?.[0] ?? ''))) {
      assert.equal(effect(memberOfPattern, other), 'deny', `${other.username}: cn=admins,* is whole-value, not a substring`);
    }
  });
});
