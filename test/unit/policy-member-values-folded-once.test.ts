import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/policy/policy-engine.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import type { Policy, Rule } from '../../src/policy/policy-types.ts';
import type { User } from '../../src/core/types.ts';

/**
 * A decision against 1000 rules reads a user's member DNs and attribute values once per list, not once
 * per rule and width: re-keying 200 member DNs per DN rule made a decision four times slower, folding
 * 200 memberOf values per attribute pattern cost most of a second. Counted by the reads of each list.
 */
const networks = compileNetworks({});
const RULES = 300;

/** A list that counts how many of its elements are read. */
function counted(values: string[]): { list: string[]; reads: () => number } {
  let reads = 0;
  const list = new Proxy(values, {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
      return Reflect.get(target, key, receiver);
    },
  });
  return { list, reads: () => reads };
}

function decideWith(rules: Rule[], user: User) {
  const policy: Policy = { name: 'p', description: '', source: 'custom', rules: [...rules, { name: 'last', then: { effect: 'deny' } }] };
  return decide({ policy, user, enrolledMethods: [], factors: [{ method: 'pwd', at: 0 }], network: { ip: '203.0.113.7' }, protocol: 'oidc', now: 0 }, networks);
}

const memberDns = Array.from({ length: 50 }, (_, i) => `cn=h${i},ou=groups,dc=example,dc=org`);

test('member DNs (groupDns and memberOf) are keyed once per list for DN group rules', () => {
  const groupDns = counted([...memberDns]);
  const memberOf = counted([...memberDns]);
  const rules: Rule[] = Array.from({ length: RULES }, (_, i) => ({ name: `r${i}`, when: { groups: [`cn=g${i},ou=groups,dc=example,dc=org`] }, then: { effect: 'permit' } }));
  const decided = decideWith(rules, { id: 'u', username: 'u', groups: [], groupDns: groupDns.list, attributes: { memberof: memberOf.list } });
  assert.equal(decided.rule.name, 'last');
  assert.ok(groupDns.reads() <= 2 * memberDns.length, `groupDns elements read ${groupDns.reads()} times`);
  assert.ok(memberOf.reads() <= 2 * memberDns.length, `memberOf elements read ${memberOf.reads()} times`);
});

test('attribute values are folded once per list for attribute patterns', () => {
  const memberOf = counted([...memberDns]);
  const rules: Rule[] = Array.from({ length: RULES }, (_, i) => ({ name: `r${i}`, when: { attributes: { memberOf: [`cn=g${i},*`] } }, then: { effect: 'permit' } }));
  const decided = decideWith(rules, { id: 'u', username: 'u', groups: [], attributes: { memberof: memberOf.list } });
  assert.equal(decided.rule.name, 'last');
  assert.ok(memberOf.reads() <= 2 * memberDns.length, `memberOf elements read ${memberOf.reads()} times`);
});

test('a DN rule still matches through the kept keys, in either list', () => {
  const rule: Rule = { name: 'in', when: { groups: ['CN=H7, OU=Groups,dc=example,dc=org'] }, then: { effect: 'permit' } };
  assert.equal(decideWith([rule], { id: 'u', username: 'u', groups: [], groupDns: [...memberDns], attributes: {} }).effect, 'allow');
  assert.equal(decideWith([rule], { id: 'u', username: 'u', groups: [], attributes: { memberof: [...memberDns] } }).effect, 'allow');
  assert.equal(decideWith([rule], { id: 'u', username: 'u', groups: [], groupDns: ['cn=\uFF48\uFF17,ou=groups,dc=example,dc=org'], attributes: {} }).effect, 'deny', 'a look-alike DN does not let in');
});
