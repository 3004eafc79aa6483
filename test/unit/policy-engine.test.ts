import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/policy/policy-engine.ts';
import { toPolicy } from '../../src/policy/templates.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import { nextStep } from '../../src/login/flow.ts';
import { ACR } from '../../src/policy/levels.ts';
import { TEMPLATE_IDS, type TemplateId } from '../../src/policy/policy-types.ts';
import type { Factor, User } from '../../src/core/types.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';
import type { LoginTransaction } from '../../src/login/transaction.ts';

const NOW = Date.parse('2026-11-22T10:00:00Z');
const MAX_AGE = 600;
const networks = compileNetworks({ office: ['10.0.0.0/8', '2001:db8::/32'] });
const IPS = { trusted: '10.20.30.40', untrusted: '203.0.113.7' } as const;
const MFA_STATES = { none: undefined, fresh: NOW - 60_000, stale: NOW - 3_600_000 } as const;
const DENY_MESSAGE = 'Only engineers may use this application.';

function user(member: boolean): User {
  return { id: 'u1', username: 'alice', groups: member ? ['engineers', 'staff'] : ['sales'], attributes: {} };
}

function factors(mfa: keyof typeof MFA_STATES): Factor[] {
  const at = MFA_STATES[mfa];
  return [{ method: 'pwd', at: NOW - 120_000 }, ...(at === undefined ? [] : [{ method: 'otp' as const, at }])];
}

/** The expected outcome, written from the description of each template, not from the code. */
function expected(template: TemplateId, c: { trusted: boolean; member: boolean; mfa: keyof typeof MFA_STATES }): 'allow' | 'step-up' | 'deny' {
  const mfaOk = c.mfa === 'fresh';
  switch (template) {
    case 'permit-everyone':
      return 'allow';
    case 'permit-everyone-require-mfa':
      return mfaOk ? 'allow' : 'step-up';
    case 'permit-specific-groups':
      return c.member ? 'allow' : 'deny';
    case 'permit-everyone-require-mfa-outside-trusted-networks':
      return c.trusted || mfaOk ? 'allow' : 'step-up';
    case 'permit-everyone-require-mfa-for-groups':
      return !c.member || mfaOk ? 'allow' : 'step-up';
    case 'deny-everyone':
      return 'deny';
  }
}

describe('policy engine: every built-in template', () => {
  for (const template of TEMPLATE_IDS) {
    const policy = toPolicy({ name: template, template, parameters: { groups: ['engineers'], maxAgeSec: MAX_AGE, message: DENY_MESSAGE } }, 'custom');
    test(template, () => {
      let cases = 0;
      for (const trusted of [true, false])
        for (const member of [true, false])
          for (const enrolled of [true, false])
            for (const mfa of Object.keys(MFA_STATES) as Array<keyof typeof MFA_STATES>) {
              if (mfa !== 'none' && !enrolled) continue; // a session cannot hold an OTP factor of a method never enrolled
              const label = JSON.stringify({ trusted, member, enrolled, mfa });
              const facts = { policy, user: user(member), enrolledMethods: enrolled ? (['totp'] as const) : [], factors: factors(mfa), network: { ip: trusted ? IPS.trusted : IPS.untrusted }, protocol: 'saml' as const, now: NOW };
              const decision = decide({ ...facts, enrolledMethods: [...facts.enrolledMethods] }, networks);
              const want = expected(template, { trusted, member, mfa });
              assert.equal(decision.effect, want, label);
              assert.ok(decision.rule.index >= 0, `a template rule decides: ${label}`);
              if (decision.effect === 'allow') assert.equal(decision.acr, mfa === 'none' ? ACR.password : ACR.mfa, `reports the level the session holds: ${label}`);
              if (decision.effect === 'deny') assert.equal(decision.message, DENY_MESSAGE, label);
              if (decision.effect === 'step-up') {
                assert.deepEqual(decision.anyOf, ['totp', 'webauthn', 'push'], label);
                assert.equal(decision.maxAgeSec, MAX_AGE, label);
                assert.equal(decision.acr, ACR.mfa, label);
              }

              // The flow turns the decision into the step the browser sees.
              const session: SsoSession = { id: 's1', user: facts.user, createdAt: NOW - 120_000, lastSeenAt: NOW, authTime: NOW - 120_000, factors: facts.factors, participants: [] };
              const tx: LoginTransaction = { id: 't1', createdAt: NOW, request: { protocol: 'saml', rpId: 'sp', rpName: 'SP', rp: { policy: template, allowPasswordChange: false }, handoff: { finisher: 'test', ref: '' }, forceAuthn: false, passive: false } };
              const step = nextStep(tx, session, { now: NOW, policy, networks, ip: facts.network.ip, enrolledMethods: [...facts.enrolledMethods], enrollableMethods: ['totp'] });
              const wantStep = { allow: 'complete', deny: 'denied', 'step-up': enrolled ? 'mfa-challenge' : 'mfa-enroll' }[want];
              assert.equal(step.kind, wantStep, label);
              cases += 1;
            }
      assert.equal(cases, 2 * 2 * (3 + 1));
    });
  }
});

test('a refusal without the administrator\'s own words names the application and says whom to ask; the administrator\'s words stay as written', () => {
  const facts = { user: user(false), enrolledMethods: [], factors: factors('none'), network: { ip: IPS.untrusted }, protocol: 'oidc' as const, now: NOW, appName: 'Payroll' };
  const unworded = decide({ ...facts, policy: toPolicy({ name: 'closed', template: 'deny-everyone' }, 'custom') }, networks);
  assert.equal(unworded.effect, 'deny');
  assert.equal(unworded.effect === 'deny' && unworded.message, 'You are not allowed to use Payroll. If you need it, ask your helpdesk for access.');
  const worded = decide({ ...facts, policy: toPolicy({ name: 'closed', template: 'deny-everyone', parameters: { message: DENY_MESSAGE } }, 'custom') }, networks);
  assert.equal(worded.effect === 'deny' && worded.message, DENY_MESSAGE);
});
