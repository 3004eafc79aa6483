import { decide } from '../../src/policy/policy-engine.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import type { Policy, Rule } from '../../src/policy/policy-types.ts';
import type { User } from '../../src/core/types.ts';

const networks = compileNetworks({});

/** What a custom policy of `rules` decides for a user whose only attribute is this employeeType, signed in with a password just now. */
export function decisionForEmployeeType(rules: Rule[], employeeType: string) {
  const now = Date.now();
  const policy: Policy = { name: 'p', description: '', source: 'custom', rules };
  const user: User = { id: 'u', username: 'alice', groups: [], attributes: { employeetype: [employeeType] } };
  return decide({ policy, user, enrolledMethods: [], factors: [{ method: 'pwd', at: now }], network: { ip: '203.0.113.1' }, protocol: 'oidc', now }, networks).effect;
}
