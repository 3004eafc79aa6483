import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { resolveAcs } from '../../src/saml/acs.ts';
import { chooseNameIdFormat, nameIdValue } from '../../src/saml/name-id.ts';
import { satisfiesRequestedContext } from '../../src/saml/authn-context.ts';
import { isSatisfiable } from '../../src/policy/requested-context.ts';
import { BINDING, NAMEID_FORMAT } from '../../src/saml/constants.ts';
import type { ServiceProviderRecord } from '../../src/saml/sp-types.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { AppError } from '../../src/core/errors.ts';
import { ACR } from '../../src/policy/levels.ts';
import type { RequestedAuthnContext, User } from '../../src/core/types.ts';

function sp(overrides: Partial<ServiceProviderRecord> = {}): ServiceProviderRecord {
  return {
    id: 'https://sp.test/metadata',
    name: 'SP',
    metadataXml: '',
    acs: [
      { binding: BINDING.redirect, location: 'https://sp.test/acs-redirect', index: 0 },
      { binding: BINDING.post, location: 'https://sp.test/acs', index: 1 },
      { binding: BINDING.post, location: 'https://sp.test/acs2', index: 2, isDefault: true },
    ],
    slo: [],
    signingCertificates: [],
    nameIdFormats: [],
    settings: { wantAssertionsSigned: true, wantResponseSigned: true, requireSignedRequests: false, encryptAssertions: false, nameIdFormat: 'persistent', attributes: [], allowPasswordChange: false },
    createdAt: 0,
    updatedAt: 0,
    ...overrides,
  };
}

const code = (expected: string) => (error: unknown) => error instanceof AppError && error.code === expected;

describe('ACS resolution: only registered HTTP-POST endpoints', () => {
  test('by URL, by index, by default', () => {
    assert.equal(resolveAcs(sp(), { url: 'https://sp.test/acs' }).index, 1);
    assert.equal(resolveAcs(sp(), { index: 1 }).location, 'https://sp.test/acs');
    assert.equal(resolveAcs(sp()).location, 'https://sp.test/acs2', 'isDefault="true" wins');
    const noDefault = sp({ acs: [{ binding: BINDING.post, location: 'https://sp.test/a', index: 5, isDefault: false }, { binding: BINDING.post, location: 'https://sp.test/b', index: 3 }] });
    assert.equal(resolveAcs(noDefault).location, 'https://sp.test/b', 'then the first not marked isDefault="false"');
  });

  test('refusals', () => {
    assert.throws(() => resolveAcs(sp(), { url: 'https://evil.test/acs' }), code('ACS_NOT_REGISTERED'));
    assert.throws(() => resolveAcs(sp(), { url: 'https://sp.test/acs-redirect' }), code('ACS_NOT_REGISTERED'), 'a Redirect ACS is not a POST ACS');
    assert.throws(() => resolveAcs(sp(), { index: 0 }), code('ACS_NOT_REGISTERED'));
    assert.throws(() => resolveAcs(sp(), { index: 9 }), code('ACS_NOT_REGISTERED'));
    assert.throws(() => resolveAcs(sp(), { url: 'https://sp.test/acs', index: 1 }), code('SAML_REQUEST_INVALID'));
    assert.throws(() => resolveAcs(sp(), { protocolBinding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact' }), code('SAML_REQUEST_INVALID'));
  });
});

describe('NameID', () => {
  const box = new SecretBox(randomBytes(32));
  const alice: User = { id: 'u-1', username: 'alice', email: 'alice@example.org', groups: [], attributes: {} };

  test('format: the request decides when it names a supported one; "unspecified" or none leaves it to the SP setting', () => {
    assert.equal(chooseNameIdFormat({}, sp()), 'persistent');
    assert.equal(chooseNameIdFormat({ format: NAMEID_FORMAT.unspecified }, sp()), 'persistent');
    assert.equal(chooseNameIdFormat({ format: NAMEID_FORMAT.transient }, sp()), 'transient');
    assert.equal(chooseNameIdFormat({ format: NAMEID_FORMAT.email }, sp()), 'email');
    assert.equal(chooseNameIdFormat({ format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName' }, sp()), undefined);
    assert.equal(chooseNameIdFormat({ spNameQualifier: 'https://affiliation.test' }, sp()), undefined);
  });

  test('values: persistent is stable per user and SP and opaque; transient is fresh; email may be missing', () => {
    const persistent = nameIdValue('persistent', alice, sp(), box)!;
    assert.equal(nameIdValue('persistent', alice, sp(), box), persistent);
    assert.notEqual(nameIdValue('persistent', alice, sp({ id: 'https://other.test' }), box), persistent);
    assert.notEqual(nameIdValue('persistent', { ...alice, id: 'u-2' }, sp(), box), persistent);
    assert.ok(!persistent.includes('alice') && !persistent.includes('u-1'));
    assert.notEqual(nameIdValue('transient', alice, sp(), box), nameIdValue('transient', alice, sp(), box));
    assert.equal(nameIdValue('email', alice, sp(), box), 'alice@example.org');
    assert.equal(nameIdValue('email', { ...alice, email: undefined }, sp(), box), undefined);
    assert.equal(nameIdValue('unspecified', alice, sp(), box), 'alice');
  });
});

describe('RequestedAuthnContext comparison (levelOf)', () => {
  const requested = (comparison: RequestedAuthnContext['comparison'], ...values: string[]): RequestedAuthnContext => ({ comparison, values });
  const cases: Array<[RequestedAuthnContext, string, boolean]> = [
    [requested('exact', ACR.password), ACR.password, true],
    [requested('exact', ACR.password), ACR.mfa, false],
    [requested('exact', ACR.mfa), ACR.password, false],
    [requested('minimum', ACR.password), ACR.mfa, true],
    [requested('minimum', ACR.mfa), ACR.password, false],
    [requested('better', ACR.password), ACR.mfa, true],
    [requested('better', ACR.password), ACR.password, false],
    [requested('maximum', ACR.mfa), ACR.password, true],
    [requested('maximum', ACR.password), ACR.mfa, false],
    [requested('exact', 'urn:example:unknown', ACR.password), ACR.password, true],
  ];
  for (const [request, acr, expected] of cases) {
    test(`${request.comparison} [${request.values.map((value) => value.split(/[:/]/).pop()).join(', ')}] with ${acr.split(/[:/]/).pop()} → ${expected}`, () => {
      assert.equal(satisfiesRequestedContext(request, acr), expected);
    });
  }

  test('requests nothing can satisfy are known before any sign-in', () => {
    assert.equal(isSatisfiable(requested('exact', 'urn:example:unknown')), false);
    assert.equal(isSatisfiable(requested('better', ACR.mfa)), false);
    assert.equal(isSatisfiable(requested('minimum', ACR.password)), true);
  });
});
