import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptableLevels, isSatisfiable } from '../../src/policy/requested-context.ts';
import { validatePolicyDefinition } from '../../src/policy/policy-validation.ts';
import { ACR } from '../../src/policy/levels.ts';

/**
 * A RequestedAuthnContext naming only classes Stepgate does not know cannot be met, whatever its
 * comparison: SAML answers NoAuthnContext before any sign-in page (sso-start.ts).
 */
const KERBEROS = 'urn:oasis:names:tc:SAML:2.0:ac:classes:Kerberos';

test('a request naming only unknown classes is not satisfiable, whatever its comparison', () => {
  for (const comparison of ['exact', 'minimum', 'better', 'maximum'] as const) {
    assert.equal(acceptableLevels({ comparison, values: [KERBEROS] }), undefined, comparison);
    assert.equal(isSatisfiable({ comparison, values: [KERBEROS] }), false, comparison);
  }
});

test('a policy\'s requested condition takes the friendly names and the URIs of both levels', () => {
  for (const value of ['password', 'mfa', ACR.password, ACR.mfa]) {
    const result = validatePolicyDefinition({ name: 'p', rules: [{ when: { requested: [value] }, then: { effect: 'permit' } }] }, { networkNames: [], reservedNames: [] });
    assert.ok(result.ok, `${value}: ${JSON.stringify(result)}`);
  }
});
