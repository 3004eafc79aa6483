import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { nextStep, type FlowFacts } from '../../src/login/flow.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import { BUILT_IN_POLICIES } from '../../src/policy/templates.ts';
import type { LoginTransaction } from '../../src/login/transaction.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';
import type { LoginRequest } from '../../src/core/types.ts';

/**
 * The flow's own decisions around the policy's: when a session that exists is not enough (ForceAuthn,
 * max_age, a refusal shown to someone else), what a new sign-in's answer rests on, and to whom a
 * pending page (the backup codes) is shown. Written from the comments in flow.ts and the README.
 */
const NOW = 1_800_000_000_000;
const MINUTE = 60_000;
const PERMIT = BUILT_IN_POLICIES.find((policy) => policy.name === 'permit-everyone')!;
const REQUIRE_MFA = BUILT_IN_POLICIES.find((policy) => policy.name === 'permit-everyone-require-mfa')!;
const user = { id: 'u1', username: 'hank', groups: [], attributes: {} };
const baseRequest: LoginRequest = { protocol: 'oidc', rpId: 'app', rpName: 'App', rp: { allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false };

function tx(request: Partial<LoginRequest> = {}, extra: Partial<LoginTransaction> = {}): LoginTransaction {
  return { id: 't', createdAt: NOW, request: { ...baseRequest, ...request }, ...extra };
}

function session(extra: Partial<SsoSession> = {}): SsoSession {
  return { id: 's1', user, createdAt: NOW - 5 * MINUTE, lastSeenAt: NOW, authTime: NOW - 5 * MINUTE, factors: [{ method: 'pwd', at: NOW - 5 * MINUTE }], participants: [], ...extra };
}

function step(t: LoginTransaction, s: SsoSession | undefined, facts: Partial<FlowFacts> = {}) {
  return nextStep(t, s, { now: NOW, policy: PERMIT, networks: compileNetworks({}), ip: '198.51.100.7', enrolledMethods: ['totp'], enrollableMethods: ['totp'], ...facts });
}

describe('when the session is not enough and the password is asked', () => {
  test('ForceAuthn asks for the password again, unless this sign-in typed it', () => {
    assert.equal(step(tx({ forceAuthn: true }), session()).kind, 'password');
    assert.equal(step(tx({ forceAuthn: true }, { passwordSessionId: 's1' }), session()).kind, 'complete');
  });

  test('max_age: a sign-in exactly max_age old still counts, one a moment older does not', () => {
    const s = session({ authTime: NOW - 10 * MINUTE, factors: [{ method: 'pwd', at: NOW - 10 * MINUTE }] });
    assert.equal(step(tx({ maxAgeSec: 600 }), s).kind, 'complete');
    assert.equal(step(tx({ maxAgeSec: 599 }), s).kind, 'password');
  });

  test('a refusal shown to another user than the one signed in now: whoever is at the browser is asked', () => {
    assert.equal(step(tx({}, { refusalShownTo: 'someone-else' }), session()).kind, 'password');
    assert.equal(step(tx({}, { refusalShownTo: user.id }), session()).kind, 'complete');
  });

  test('a passive request without a session is answered login_required, never a page', () => {
    const answered = step(tx({ passive: true }), undefined);
    assert.ok(answered.kind === 'complete' && !answered.result.ok && answered.result.error === 'login_required', JSON.stringify(answered));
  });
});

describe('what a new sign-in\'s answer rests on', () => {
  test('ForceAuthn: a code kept from the session before does not count; one proved in this sign-in does', () => {
    const kept = session({ factors: [{ method: 'pwd', at: NOW }, { method: 'otp', at: NOW - 2 * MINUTE }], keptFactors: ['otp'], authTime: NOW });
    assert.equal(step(tx({ forceAuthn: true }, { passwordSessionId: 's1' }), kept, { policy: REQUIRE_MFA }).kind, 'mfa-challenge');
    const proved = session({ factors: [{ method: 'pwd', at: NOW }, { method: 'otp', at: NOW - 2 * MINUTE }], authTime: NOW });
    assert.equal(step(tx({ forceAuthn: true }, { passwordSessionId: 's1' }), proved, { policy: REQUIRE_MFA }).kind, 'complete');
  });

  test('max_age: a code exactly max_age old counts', () => {
    const s = session({ authTime: NOW, factors: [{ method: 'pwd', at: NOW }, { method: 'otp', at: NOW - 10 * MINUTE }] });
    assert.equal(step(tx({ maxAgeSec: 600 }), s, { policy: REQUIRE_MFA }).kind, 'complete');
    assert.equal(step(tx({ maxAgeSec: 599 }), s, { policy: REQUIRE_MFA }).kind, 'mfa-challenge');
  });

  test('max_age: the password typed in this sign-in counts for its whole life, so amr keeps pwd after a slow second step', () => {
    const s = session({ authTime: NOW - 20 * MINUTE, factors: [{ method: 'pwd', at: NOW - 20 * MINUTE }, { method: 'otp', at: NOW }] });
    const answered = step(tx({ maxAgeSec: 600 }, { passwordSessionId: 's1' }), s, { policy: REQUIRE_MFA });
    assert.ok(answered.kind === 'complete' && answered.result.ok, JSON.stringify(answered));
    assert.deepEqual(answered.result.ok && answered.result.amr, ['pwd', 'otp', 'mfa']);
  });

  test('the time of authentication is never later than a kept factor it rests on', () => {
    const s = session({ authTime: NOW, factors: [{ method: 'pwd', at: NOW }, { method: 'otp', at: NOW - 30 * MINUTE }], keptFactors: ['otp'] });
    const answered = step(tx(), s, { policy: REQUIRE_MFA });
    assert.ok(answered.kind === 'complete' && answered.result.ok && answered.result.authTime === NOW - 30 * MINUTE, JSON.stringify(answered));
  });
});

describe('a first second factor is set up on a recent password only', () => {
  const notEnrolled = { policy: REQUIRE_MFA, enrolledMethods: [] };
  test('a password carried in from an earlier sign-in, older than 10 minutes, is asked again before a setup', () => {
    const old = session({ authTime: NOW - 11 * MINUTE, factors: [{ method: 'pwd', at: NOW - 11 * MINUTE }] });
    assert.deepEqual(step(tx(), old, notEnrolled), { kind: 'password', again: 'mfa-setup' });
    assert.equal(step(tx(), session({ authTime: NOW - 9 * MINUTE }), notEnrolled).kind, 'mfa-enroll');
  });

  test('a password typed in this sign-in counts however long ago', () => {
    const old = session({ authTime: NOW - 30 * MINUTE, factors: [{ method: 'pwd', at: NOW - 30 * MINUTE }] });
    assert.equal(step(tx({}, { passwordSessionId: 's1' }), old, notEnrolled).kind, 'mfa-enroll');
  });
});

describe('the backup codes page', () => {
  const pending = { pendingBackupCodes: { codes: ['aaaaa-bbbbb'], userId: user.id, sessionId: 's1' } };
  test('is shown in the SSO session that set the app up, to its user', () => {
    assert.equal(step(tx({}, pending), session()).kind, 'backup-codes');
  });
  test('is not shown in another session of the same user, nor to another user in that session', () => {
    assert.notEqual(step(tx({}, pending), session({ id: 's2' })).kind, 'backup-codes');
    assert.notEqual(step(tx({}, pending), session({ user: { ...user, id: 'u2', username: 'ivy' } })).kind, 'backup-codes');
  });
});

describe('the notice of a backup code used', () => {
  const pending = { pendingBackupCodeNotice: { left: 3, userId: user.id, sessionId: 's1' } };
  test('is shown in the SSO session the code was used in, to its user, before the application', () => {
    assert.deepEqual(step(tx({}, pending), session()), { kind: 'backup-code-used', left: 3 });
  });
  test('is not shown in another session of the same user, nor to another user in that session, nor without a session: they are asked as anyone is', () => {
    assert.equal(step(tx({}, pending), session({ id: 's2' })).kind, 'complete');
    assert.equal(step(tx({}, pending), session({ user: { ...user, id: 'u2', username: 'ivy' } })).kind, 'complete');
    assert.equal(step(tx({}, pending), undefined).kind, 'password');
    // Not a way past the second factor: another session of the user still owes the code the policy asks.
    assert.equal(step(tx({}, pending), session({ id: 's2' }), { policy: REQUIRE_MFA }).kind, 'mfa-challenge');
  });
});
