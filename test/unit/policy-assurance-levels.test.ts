import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACR, amrFor, levelOf, levelReached } from '../../src/policy/levels.ts';
import { decide } from '../../src/policy/policy-engine.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import type { Factor, User } from '../../src/core/types.ts';

/** What a session's factors prove: MFA (RFC 8176 `mfa`) takes the password and a second factor both. */
const NOW = Date.parse('2026-11-22T10:00:00Z');
const PWD: Factor = { method: 'pwd', at: NOW };
const OTP: Factor = { method: 'otp', at: NOW - 60_000 };

test('amr says mfa only for a password and a second factor together', () => {
  assert.deepEqual(amrFor([PWD, OTP]), ['pwd', 'otp', 'mfa']);
  assert.deepEqual(amrFor([PWD]), ['pwd']);
  assert.deepEqual(amrFor([OTP]), ['otp'], 'a second factor alone is one factor');
});

test('a second factor without the password reaches no level', () => {
  assert.equal(levelReached([PWD, OTP], ['totp']), levelOf(ACR.mfa));
  assert.equal(levelReached([OTP], ['totp']), -1);
  assert.equal(levelReached([PWD], ['totp']), levelOf(ACR.password));
});

test('a second factor exactly as old as the freshness window still counts, as for max_age', () => {
  const user: User = { id: 'u', username: 'pat', groups: [], attributes: {} };
  const factors: Factor[] = [PWD, { method: 'otp', at: NOW - 600_000 }];
  const policy = { name: 'p', description: '', source: 'custom' as const, rules: [{ then: { effect: 'require-mfa' as const, maxAgeSec: 600 } }] };
  const facts = { policy, user, enrolledMethods: ['totp' as const], network: { ip: '198.51.100.1' }, protocol: 'oidc' as const, now: NOW };
  assert.equal(decide({ ...facts, factors }, compileNetworks({})).effect, 'allow');
  assert.equal(decide({ ...facts, factors: [PWD, { method: 'otp', at: NOW - 600_001 }] }, compileNetworks({})).effect, 'step-up');
});
