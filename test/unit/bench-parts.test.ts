import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOptions } from '../../scripts/bench/options.ts';
import { floorGap, partsCpuMs, partsOf, verdicts, type PhaseRow } from '../../scripts/bench/report.ts';
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

const row = (scenario: PhaseRow['scenario'], concurrency: number, cpuMs: number) => ({ scenario, concurrency, idpCpuMsPerSignIn: cpuMs }) as PhaseRow;

test('the library floor is set against the same flow at the same concurrency, and named in the CPU targets', () => {
  assert.equal(partsCpuMs(partsOf('floor-oidc', { saml, idTokenAlg: 'RS256' }), limits), 0.7); // only the ID Token: no directory, no TOTP
  assert.equal(parseOptions([]).floor, true);
  assert.equal(parseOptions(['--no-floor']).floor, false);
  const rows = [row('oidc', 1, 9), row('oidc', 8, 5), row('refresh', 8, 2)];
  const floor = [row('floor-oidc', 8, 3.2), row('floor-refresh', 8, 1.6)];
  const gap = floorGap(rows, floor).split('\n');
  assert.match(gap[0]!, /oidc: Stepgate 5\.00 ms, oidc-provider alone 3\.20 ms: Stepgate adds 1\.80 ms \(156 % of the floor\)/);
  assert.match(gap[1]!, /refresh: Stepgate 2\.00 ms, oidc-provider alone 1\.60 ms: Stepgate adds 0\.40 ms/);
  const targets = verdicts([...rows.map((item) => ({ ...item, latencyMs: { p99: 40 }, errors: 0, warmupErrors: 0, signInsPerSecond: 300, liveSessionsApprox: 0, idpRssPeakMb: 200 }) as unknown as PhaseRow)], { seededSessions: 10, floor });
  assert.equal(targets.find((item) => item.target.startsWith('IdP CPU per OIDC'))?.measured, '5 ms (oidc-provider alone: 3.2 ms)');
  assert.equal(targets.find((item) => item.target.startsWith('IdP CPU per refresh'))?.measured, '2 ms (oidc-provider alone: 1.6 ms)');
});
