import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/policy/policy-engine.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import { foldedGroupNames, inGroup } from '../../src/policy/group-references.ts';
import type { Policy, Rule } from '../../src/policy/policy-types.ts';
import type { User } from '../../src/core/types.ts';

const NOW = 1_800_000_000_000;
const networks = compileNetworks({});
const GROUPS = 200;
const RULES = 1000;

/** The shape of the tester's policy: a deny rule per department group the user is not in, then everyone else. */
function departmentPolicy(): Policy {
  const rules: Rule[] = Array.from({ length: RULES - 1 }, (_, i) => ({ name: `dept ${i}`, when: { groups: [`dept-${i}`] }, then: { effect: 'deny' } }));
  return { name: 'departments', description: '', source: 'custom', rules: [...rules, { name: 'everyone else', then: { effect: 'permit' } }] };
}

/** Calls of String.prototype.normalize while `run` runs: foldCase normalizes twice per name it folds. */
function normalizeCalls(run: () => void): number {
  const original = String.prototype.normalize;
  let calls = 0;
  String.prototype.normalize = function (this: string, form?: string) {
    calls += 1;
    return original.call(this, form);
  };
  try {
    run();
  } finally {
    String.prototype.normalize = original;
  }
  return calls;
}

describe('group names are folded once per list of groups, not once per rule', () => {
  test('a decision over 1000 group rules folds each of 200 groups once, and each rule\'s group once', () => {
    const user: User = { id: 'u', username: 'many', groups: Array.from({ length: GROUPS }, (_, i) => `Project-${i}`), attributes: {} };
    const policy = departmentPolicy();
    let effect: string | undefined;
    const calls = normalizeCalls(() => {
      effect = decide({ policy, user, enrolledMethods: [], factors: [{ method: 'pwd', at: NOW }], network: { ip: '203.0.113.7' }, protocol: 'oidc', now: NOW }, networks).effect;
    });
    assert.equal(effect, 'allow', 'in no department group: everyone else');
    // Folding every group again for every rule was 2 × 200 × 1000 = 400,000 calls.
    assert.ok(calls <= 2 * (GROUPS + RULES), `${calls} normalizations for ${GROUPS} groups and ${RULES} rules`);
  });

  test('the folded names are built once for a list of groups, and a new list gets its own', () => {
    const user: User = { id: 'u', username: 'ada', groups: ['ＡＤＭＩＮ', 'Straße'], attributes: {} };
    const folded = foldedGroupNames(user);
    assert.deepEqual([...folded], ['admin', 'strasse']);
    assert.equal(foldedGroupNames({ ...user }), folded, 'the same list: the same folded names');
    assert.ok(inGroup(user, 'Admin') && inGroup(user, 'STRASSE'));
    const moved: User = { ...user, groups: ['sales'] };
    assert.notEqual(foldedGroupNames(moved), folded, 'a user with another list of groups is folded again');
    assert.equal(inGroup(moved, 'admin'), false);
    assert.ok(inGroup(moved, 'Sales'));
  });
});

test('a group name compares as the directory compares it: spaces outside it and doubled inside it do not count', () => {
  const user: User = { id: 'u', username: 'u', groups: ['contractors ', 'Sales  EMEA'], attributes: {} };
  assert.equal(inGroup(user, 'contractors'), true);
  assert.equal(inGroup(user, 'Sales EMEA'), true);
  assert.equal(inGroup(user, 'sales   emea'), true);
  assert.equal(inGroup(user, 'SalesEMEA'), false, 'a space inside a name still counts');
});
