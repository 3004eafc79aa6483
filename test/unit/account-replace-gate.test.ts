import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { secondFactorLoginRequest } from '../../src/account/account-access.ts';
import { BUILT_IN_POLICIES } from '../../src/policy/templates.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import { nextStep, type FlowFacts } from '../../src/login/flow.ts';
import type { Factor } from '../../src/core/types.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';
import type { LoginTransaction } from '../../src/login/transaction.ts';

const NOW = Date.parse('2026-11-23T10:00:00Z');
const MINUTE = 60_000;
const request = secondFactorLoginRequest('replace');
const policy = BUILT_IN_POLICIES.find((candidate) => candidate.name === request.rp.policy);
const tx: LoginTransaction = { id: 'preview', request, createdAt: NOW };
const user = { id: 'u1', username: 'nora', groups: [], attributes: {} };

/** A session whose password was proved `passwordAgo` ms ago, with `factors` besides it. */
function session(passwordAgo: number, factors: Factor[] = []): SsoSession {
  return { id: 's1', user, createdAt: NOW - passwordAgo, lastSeenAt: NOW, authTime: NOW - passwordAgo, factors: [{ method: 'pwd', at: NOW - passwordAgo }, ...factors], participants: [] };
}

/** What the flow answers the move's request with, for a user who has an authenticator app. */
function step(signIn: SsoSession) {
  assert.ok(policy);
  const facts: FlowFacts = { now: NOW, policy, networks: compileNetworks({}), ip: '192.0.2.1', enrolledMethods: ['totp'], enrollableMethods: ['totp'] };
  return nextStep(tx, signIn, facts);
}

describe('moving the authenticator to a new phone: what the sign-in must have proved, decided by the flow', () => {
  test('asks under a built-in policy, whose name an administrator cannot give to another', () => {
    assert.equal(policy?.source, 'built-in');
    assert.equal(request.handoff.ref, 'replace', 'the sign-in leads back to the move');
  });

  test('a code proved within 10 minutes lets the move go on', () => {
    const answer = step(session(2 * MINUTE, [{ method: 'otp', at: NOW - 9 * MINUTE }]));
    assert.equal(answer.kind, 'complete');
    assert.ok(answer.kind === 'complete' && answer.result.ok);
  });

  test('a code proved more than 10 minutes ago (kept when the password was asked again) is asked for again', () => {
    assert.deepEqual(step(session(2 * MINUTE, [{ method: 'otp', at: NOW - 11 * MINUTE }])), { kind: 'mfa-challenge', methods: ['totp'] });
  });

  test('a sign-in with the password alone (single sign-on from an application that asks for no more) is asked for a code', () => {
    assert.deepEqual(step(session(MINUTE)), { kind: 'mfa-challenge', methods: ['totp'] });
  });

  test('a password more than 10 minutes old is asked for again, whatever code came after it', () => {
    assert.deepEqual(step(session(11 * MINUTE, [{ method: 'otp', at: NOW - MINUTE }])), { kind: 'password' });
  });
});
