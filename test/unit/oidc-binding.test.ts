import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { essentialAcrs, requestedAuthnContext, toInteractionResult, toLoginRequest } from '../../src/oidc/binding.ts';
import type { OidcClientRecord } from '../../src/oidc/client-registry.ts';
import type { LoginResult, User } from '../../src/core/types.ts';
import { ACR } from '../../src/policy/levels.ts';

const client: OidcClientRecord = {
  id: 'client-1',
  name: 'Wiki',
  redirectUris: ['https://wiki.example/cb'],
  postLogoutRedirectUris: [],
  tokenEndpointAuthMethod: 'client_secret_basic',
  grantTypes: ['authorization_code', 'refresh_token'],
  scopes: ['openid', 'profile'],
  idTokenSignedResponseAlg: 'RS256',
  policy: 'staff-only',
  allowPasswordChange: true,
  createdAt: 0,
};
const user: User = { id: 'u-1', username: 'alice', groups: [], attributes: {} };
const ok: LoginResult = { ok: true, user, sessionId: 'sso-1', authTime: 1_700_000_000_999, factors: [{ method: 'pwd', at: 1 }], amr: ['pwd'], acr: ACR.password };

function request(params: Record<string, unknown>, reasons: string[] = []) {
  return toLoginRequest({ params, reasons, interactionUid: 'uid/1' }, client);
}

describe('OIDC authorization request → LoginRequest', () => {
  test('client settings and resume path', () => {
    const login = request({ client_id: 'client-1' });
    assert.deepEqual(
      { protocol: login.protocol, rpId: login.rpId, rpName: login.rpName, rp: login.rp, handoff: login.handoff, forceAuthn: login.forceAuthn, passive: login.passive },
      { protocol: 'oidc', rpId: 'client-1', rpName: 'Wiki', rp: { policy: 'staff-only', allowPasswordChange: true }, handoff: { finisher: 'oidc', ref: 'uid/1' }, forceAuthn: false, passive: false },
    );
  });

  test('prompt, max_age and login_hint', () => {
    const cases: Array<[Record<string, unknown>, string[], Partial<ReturnType<typeof request>>]> = [
      [{ prompt: 'login' }, [], { forceAuthn: true, passive: false }],
      [{ prompt: 'none' }, [], { forceAuthn: false, passive: true }],
      [{}, ['id_token_hint'], { forceAuthn: true }],
      [{}, ['no_session', 'max_age'], { forceAuthn: false }],
      [{ max_age: 0 }, [], { maxAgeSec: 0 }],
      [{ max_age: '300' }, [], { maxAgeSec: 300 }],
      [{ max_age: 'soon' }, [], { maxAgeSec: undefined }],
      [{ login_hint: 'alice@example.org' }, [], { loginHint: 'alice@example.org' }],
      [{ login_hint: '' }, [], { loginHint: undefined }],
    ];
    for (const [params, reasons, expected] of cases) {
      const login = request(params, reasons);
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(login[key as keyof typeof login], value, `${JSON.stringify(params)} ${reasons} → ${key}`);
    }
  });

  test('acr: an essential claims request binds, acr_values is a preference', () => {
    assert.equal(requestedAuthnContext({}), undefined);
    assert.deepEqual(requestedAuthnContext({ acr_values: `${ACR.mfa} ${ACR.password}` }), { values: [ACR.mfa, ACR.password], comparison: 'exact', essential: false });
    assert.deepEqual(requestedAuthnContext({ claims: JSON.stringify({ id_token: { acr: { essential: true, value: ACR.mfa } } }) }), { values: [ACR.mfa], comparison: 'exact', essential: true });
    assert.deepEqual(requestedAuthnContext({ claims: JSON.stringify({ id_token: { acr: { essential: true, values: [ACR.mfa] } } }), acr_values: ACR.password }), { values: [ACR.mfa], comparison: 'exact', essential: true });
    // Not essential: the claims request is a wish like acr_values, which then wins.
    assert.deepEqual(requestedAuthnContext({ claims: JSON.stringify({ id_token: { acr: { values: [ACR.mfa] } } }), acr_values: ACR.password }), { values: [ACR.password], comparison: 'exact', essential: false });
    assert.equal(requestedAuthnContext({ claims: '{not json' }), undefined);
  });
});

describe('essential acr requests, read as oidc-provider reads them', () => {
  const acr = (request: unknown) => essentialAcrs({ id_token: { acr: request } });
  test('any truthy essential counts; value and values both bind', () => {
    assert.deepEqual(acr({ essential: true, value: ACR.mfa }), [ACR.mfa]);
    assert.deepEqual(acr({ essential: 'true', value: ACR.mfa }), [ACR.mfa]);
    assert.deepEqual(acr({ essential: 1, values: [ACR.password, 7, ACR.mfa] }), [ACR.password, ACR.mfa]);
    assert.deepEqual(acr({ essential: true, value: ACR.mfa, values: [ACR.password, ACR.mfa] }), [ACR.mfa]);
  });
  test('not essential, or nothing asked: no requirement', () => {
    for (const request of [{ value: ACR.mfa }, { essential: false, value: ACR.mfa }, { essential: true }, 'x', null]) assert.equal(acr(request), undefined, JSON.stringify(request));
    assert.equal(essentialAcrs(undefined), undefined);
  });
  test('a request no acr can satisfy is empty (refused with invalid_request before any page)', () => {
    for (const request of [{ essential: true, value: [ACR.mfa] }, { essential: true, value: 1 }, { essential: true, values: 'x' }, { essential: true, values: [1] }, { essential: true, value: ACR.mfa, values: [ACR.password] }]) {
      assert.deepEqual(acr(request), [], JSON.stringify(request));
    }
  });
});

describe('LoginResult → interaction result', () => {
  test('success carries account, acr, amr, auth time in seconds and the SSO session, not remembered (a browser-session cookie)', () => {
    assert.deepEqual(toInteractionResult(request({}), ok), { login: { accountId: 'u-1', acr: ACR.password, amr: ['pwd'], ts: 1_700_000_000, remember: false }, ssoSession: 'sso-1' });
  });

  test('failures map to the OIDC error codes', () => {
    const cases = [
      ['login_required', 'login_required'],
      ['access_denied', 'access_denied'],
      ['interaction_required', 'interaction_required'],
      ['unmet_authn_context', 'unmet_authentication_requirements'],
    ] as const;
    for (const [error, expected] of cases) {
      assert.deepEqual(toInteractionResult(request({}), { ok: false, error, message: 'why' }), { error: expected, error_description: 'why' });
    }
  });

  test('error_description stays within RFC 6749 4.1.2.1 (printable ASCII without " and \\): a message outside it is replaced by the plain description of its error', () => {
    const policyMessage = 'You are not allowed to use Café "Ops" \\ 経費. If you need it, ask your helpdesk for access.';
    assert.deepEqual(toInteractionResult(request({}), { ok: false, error: 'access_denied', message: policyMessage }), { error: 'access_denied', error_description: 'the access policy of this application refuses the End-User' });
    assert.deepEqual(toInteractionResult(request({}), { ok: false, error: 'access_denied', message: 'Ask the helpdesk for a "finance" account.' }).error_description, 'the access policy of this application refuses the End-User', 'a double quote alone');
    assert.equal(toInteractionResult(request({}), { ok: false, error: 'access_denied', message: 'Refused.\x7f' }).error_description, 'the access policy of this application refuses the End-User', 'DEL (U+007F) is no printable character');
    const plain = "You are not allowed to use Wiki. If you need it, ask your helpdesk for access (ext. 4711) or see https://help.example/idp?x=1&y=[2] ~ 'now'.";
    assert.equal(toInteractionResult(request({}), { ok: false, error: 'access_denied', message: plain }).error_description, plain, 'every allowed character is kept');
  });

  test('an essential acr that was not obtained is unmet_authentication_requirements', () => {
    const essential = request({ claims: JSON.stringify({ id_token: { acr: { essential: true, value: ACR.mfa } } }) });
    assert.equal(toInteractionResult(essential, ok).error, 'unmet_authentication_requirements');
    assert.ok(toInteractionResult(essential, { ...ok, acr: ACR.mfa }).login);
    assert.ok(toInteractionResult(request({ acr_values: ACR.mfa }), ok).login, 'acr_values alone never fails');
  });
});
