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

test('both floors are set against the same flow at the same concurrency, and named in the CPU targets', () => {
  assert.equal(partsCpuMs(partsOf('floor-oidc', { saml, idTokenAlg: 'RS256' }), limits), 0.7); // only the ID Token: no directory, no TOTP
  assert.equal(partsCpuMs(partsOf('minimal-oidc', { saml, idTokenAlg: 'RS256' }), limits), 0.91); // the same work as Stepgate's sign-in
  assert.equal(partsCpuMs(partsOf('minimal-refresh', { saml, idTokenAlg: 'ES256' }), limits), 0.08);
  assert.equal(parseOptions([]).floor, true);
  assert.equal(parseOptions(['--no-floor']).floor, false);
  const rows = [row('oidc', 1, 9), row('oidc', 8, 5), row('refresh', 8, 2)];
  const floor = [row('floor-oidc', 8, 3.2), row('floor-refresh', 8, 1.6), row('minimal-oidc', 8, 1.26), row('minimal-refresh', 8, 0.8)];
  const gap = floorGap(rows, floor, 'RS256').split('\n');
  assert.equal(gap[0], '  oidc: Stepgate 5.00 ms; oidc-provider alone 3.20 ms: Stepgate adds 1.80 ms (156 % of the floor); minimal server 1.26 ms: Stepgate is 4.0x it');
  assert.equal(gap[1], '  refresh: Stepgate 2.00 ms; oidc-provider alone 1.60 ms: Stepgate adds 0.40 ms (125 % of the floor); minimal server 0.80 ms: Stepgate is 2.5x it');
  // the issue measured its minimal server at 0.63 ms: a machine where it takes 1.26 ms is 2x slower, and 2.5 ms there is 5 ms here
  assert.equal(gap[2], "  the issue's minimal server took 0.63 ms per sign-in on the issue's machine and 1.26 ms here (2.0x); its 2.5 ms target is 4.0x that server, which is 5.00 ms on this machine");
  assert.equal(floorGap(rows, floor.slice(0, 2), 'RS256').split('\n').length, 2, 'without the minimal server, no line about it');
  assert.match(floorGap(rows, floor, 'ES256').split('\n')[2]!, /includes an RS256 signature: compare with --id-token-alg RS256\)$/, 'the issue measured its server with RS256');
  const targets = verdicts([...rows.map((item) => ({ ...item, latencyMs: { p99: 40 }, errors: 0, warmupErrors: 0, signInsPerSecond: 300, liveSessionsApprox: 0, idpRssPeakMb: 200 }) as unknown as PhaseRow)], { seededSessions: 10, floor });
  const cpuTarget = targets.find((item) => item.target.startsWith('IdP CPU per OIDC'))!;
  assert.equal(cpuTarget.measured, '5 ms (oidc-provider alone: 3.2 ms, minimal server: 1.26 ms)');
  assert.equal(cpuTarget.met, false, 'the target stays 2.5 ms whatever the floors say');
  assert.equal(targets.find((item) => item.target.startsWith('IdP CPU per refresh'))?.measured, '2 ms (oidc-provider alone: 1.6 ms, minimal server: 0.8 ms)');
});
