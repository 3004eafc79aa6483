import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { requestedAtSignIn } from '../../src/oidc/refresh-requested-context.ts';
import { requestedAuthnContext } from '../../src/oidc/binding.ts';
import { ACR } from '../../src/policy/levels.ts';

describe('a refresh token read for what its sign-in asked', () => {
  test('acr_values, as oidc-provider keeps them in the claims, read as the sign-in read them', () => {
    assert.deepEqual(requestedAtSignIn({ id_token: { acr: { values: [ACR.mfa] } } }), requestedAuthnContext({ acr_values: ACR.mfa }));
    assert.deepEqual(requestedAtSignIn({ id_token: { acr: { values: [ACR.mfa] }, auth_time: { essential: true } } }), { values: [ACR.mfa], comparison: 'exact', essential: false });
  });

  test('an essential acr claim binds, as at the sign-in', () => {
    const claims = { id_token: { acr: { essential: true, value: ACR.mfa } } };
    assert.deepEqual(requestedAtSignIn(claims), requestedAuthnContext({ claims: JSON.stringify(claims) }));
    assert.deepEqual(requestedAtSignIn(claims), { values: [ACR.mfa], comparison: 'exact', essential: true });
  });

  test('a token of a request that asked for no acr, or with no claims at all: nothing requested', () => {
    assert.equal(requestedAtSignIn(undefined), undefined);
    assert.equal(requestedAtSignIn({ id_token: { auth_time: { essential: true } } }), undefined);
    assert.equal(requestedAtSignIn({ id_token: { acr: { values: [] } } }), undefined);
  });
});
