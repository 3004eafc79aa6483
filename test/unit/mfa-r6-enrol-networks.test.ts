import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, ConfigError } from '../../src/config/load.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import { BUILT_IN_POLICIES } from '../../src/policy/templates.ts';
import { nextStep, type FlowFacts } from '../../src/login/flow.ts';
import type { LoginTransaction } from '../../src/login/transaction.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';

const NOW = 1_800_000_000_000;
const REQUIRE_MFA = BUILT_IN_POLICIES.find((policy) => policy.name === 'permit-everyone-require-mfa')!;
const OFFICE_IP = '192.0.2.10';
const HOME_IP = '198.51.100.7';
const networks = compileNetworks({ office: ['192.0.2.0/24'] });
const user = { id: 'u1', username: 'hank', groups: [], attributes: {} };
const tx: LoginTransaction = { id: 't', createdAt: NOW, request: { protocol: 'oidc', rpId: 'mfa-app', rpName: 'MFA App', rp: { allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false } };
const session: SsoSession = { id: 's', user, createdAt: NOW, lastSeenAt: NOW, authTime: NOW, factors: [{ method: 'pwd', at: NOW }], participants: [] };

function step(overrides: Partial<FlowFacts>) {
  const facts: FlowFacts = { now: NOW, policy: REQUIRE_MFA, networks, ip: HOME_IP, enrolledMethods: [], enrollableMethods: ['totp'], ...overrides };
  return nextStep(tx, session, facts);
}

describe('mfa.enrollment.networks: where a first second factor may be set up', () => {
  test('unset: set up from anywhere (as before)', () => {
    assert.equal(step({}).kind, 'mfa-enroll');
  });

  test('outside the networks, a user without a method is refused, not offered a setup and not let through', () => {
    const refused = step({ enrollmentNetworks: ['office'] });
    assert.equal(refused.kind, 'denied');
    assert.ok(refused.kind === 'denied' && refused.result.ok === false && refused.result.error === 'access_denied');
    assert.match(refused.kind === 'denied' ? refused.message : '', /MFA App needs a second step .* can only be set up from your organisation's network/);
  });

  test('inside the networks (by name, "*" or a CIDR), the setup is offered', () => {
    for (const enrollmentNetworks of [['office'], ['*'], ['192.0.2.0/28']]) assert.equal(step({ enrollmentNetworks, ip: OFFICE_IP }).kind, 'mfa-enroll', enrollmentNetworks[0]);
    assert.equal(step({ enrollmentNetworks: ['192.0.2.64/28'], ip: OFFICE_IP }).kind, 'denied');
  });

  test('a user who has a method already is asked for it, wherever they are', () => {
    assert.equal(step({ enrollmentNetworks: ['office'], enrolledMethods: ['totp'] }).kind, 'mfa-challenge');
  });

  test('the key is checked at start: each entry a trustedNetworks name, "*" or a CIDR, and not an empty list', () => {
    const trustedNetworks = { office: ['192.0.2.0/24'] };
    assert.deepEqual(parseConfig({ trustedNetworks, mfa: { enrollment: { networks: ['office', '*', '2001:db8::/32'] } } }).mfa.enrollment.networks, ['office', '*', '2001:db8::/32']);
    assert.equal(parseConfig({}).mfa.enrollment.networks, undefined);
    const refused = (networks: string[], problem: RegExp) =>
      assert.throws(() => parseConfig({ trustedNetworks, mfa: { enrollment: { networks } } }), (error: Error) => error instanceof ConfigError && problem.test(error.message), networks.join());
    refused(['office', 'ofice'], /mfa\.enrollment\.networks\.1: unknown trusted network "ofice" \(configured under trustedNetworks: office/);
    refused(['10.0.0.0/33'], /mfa\.enrollment\.networks\.0: is not a valid IPv4 or IPv6 CIDR/);
    refused([], /mfa\.enrollment\.networks: must name at least one network/);
  });
});
