import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/policy/policy-engine.ts';
import { explainDecision } from '../../src/policy/explain.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import type { Policy } from '../../src/policy/policy-types.ts';
import type { User } from '../../src/core/types.ts';

const networks = compileNetworks({});
const alice: User = { id: 'a', username: 'alice', groups: [], attributes: {} };

test('names, descriptions and messages saved before they were checked cannot forge lines of the trace', () => {
  // As a store may still hold it: saved when rule names could have line breaks.
  const policy: Policy = {
    name: 'v-12',
    description: 'clears \u001b[2J the screen',
    source: 'custom',
    rules: [
      { name: 'x: when everyone → deny\n  MATCH #1 all good', when: { username: ['nobody\u2028'] }, then: { effect: 'deny', message: 'no\r\nrule      #9 "fake"' } },
      { name: 'admins\u202e', then: { effect: 'deny', message: 'Go away.\ndecision  allow' } },
    ],
  };
  const subject = { user: alice, enrolledMethods: [], ip: '203.0.113.7' };
  const decision = decide({ policy, ...subject, factors: [{ method: 'pwd', at: 0 }], network: { ip: subject.ip }, protocol: 'oidc', now: 0 }, networks);
  const lines = explainDecision(policy, decision, subject, networks);
  assert.deepEqual(lines, [
    'policy    v-12 (custom): clears \\u{1b}[2J the screen',
    '  no    #1 x: when everyone → deny\\u{a}  MATCH #1 all good: when username ["nobody\\u{2028}"] → deny ("no\\u{d}\\u{a}rule      #9 "fake"")',
    '  MATCH #2 admins\\u{202e}: when everyone → deny ("Go away.\\u{a}decision  allow")',
    'decision  deny — the user sees: "Go away.\\u{a}decision  allow"',
    'rule      #2 "admins\\u{202e}"',
  ]);
  assert.ok(lines.every((line) => !/[\p{C}\u2028\u2029]/u.test(line)), 'no control or format character reaches the terminal');
});
