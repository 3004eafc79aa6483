import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOptions } from '../../scripts/bench/options.ts';
import { partsCpuMs, partsOf } from '../../scripts/bench/report.ts';
import type { MachineLimits } from '../../scripts/bench/limits.ts';

const rate = (cpuUsPerOp: number) => ({ perSecond: 1e6 / cpuUsPerOp, cpuUsPerOp });
const limits: MachineLimits = {
  rs256Sign: rate(700),
  rs256Verify: rate(30),
  es256Sign: rate(80),
  totpVerify: rate(60),
  totpVerifyIdpLibrary: rate(30),
  ldapSearchBind: { ...rate(150), concurrency: 8, slapdCpuUsPerOp: 250 },
};
const saml = { signatures: 2, signedRequests: true };

test('the bench client signs its ID Tokens with --id-token-alg (RS256 unless told), and anything else is refused', () => {
  assert.equal(parseOptions([]).idTokenAlg, 'RS256');
  assert.equal(parseOptions(['--id-token-alg', 'ES256']).idTokenAlg, 'ES256');
  assert.throws(() => parseOptions(['--id-token-alg', 'HS256']), /--id-token-alg: expected one of RS256, ES256/);
});

test("a flow's measured parts count the ID Token signature in the client's algorithm; SAML always signs RS256", () => {
  assert.equal(partsCpuMs(partsOf('oidc', { saml, idTokenAlg: 'RS256' }), limits), 0.91); // LDAP + TOTP + RS256
  assert.equal(partsCpuMs(partsOf('oidc', { saml, idTokenAlg: 'ES256' }), limits), 0.29); // LDAP + TOTP + ES256
  assert.equal(partsCpuMs(partsOf('refresh', { saml, idTokenAlg: 'ES256' }), limits), 0.08);
  assert.equal(partsCpuMs(partsOf('sso', { saml, idTokenAlg: 'RS256' }), limits), 0.7);
  const samlMs = 0.15 + 0.06 + 2 * 0.7 + 0.03;
  for (const idTokenAlg of ['RS256', 'ES256'] as const) assert.ok(Math.abs(partsCpuMs(partsOf('saml', { saml, idTokenAlg }), limits) - samlMs) < 1e-9);
});
