import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureOutput, waitForExit } from '../helpers/child-exit.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A few seconds of `npm run bench` at concurrency 2, so the benchmark cannot rot. No timing assertions. */
test('the benchmark runs every scenario end to end without errors and writes its JSON', { timeout: 200_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-bench-smoke-'));
  const json = join(dir, 'bench.json');
  try {
    // Each user's TOTP code counts once per 30 s step: 1,000 users allow ~2,000 sign-ins per step window, enough for every phase.
    const args = ['--disable-warning=ExperimentalWarning', 'scripts/bench/run.ts', '--duration', '1', '--warmup', '0.5', '--concurrency', '2', '--users', '1000', '--groups', '20', '--sessions', '500', '--scale-sessions', '1000', '--scale-concurrency', '2', '--limit-seconds', '0.2', '--step-flows', '10', '--step-rounds', '2', '--json', json];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const read = captureOutput(child);
    // the bench stops its IdP and slapd on SIGTERM; a hung run must not outlive the test (nor one that ignores the SIGTERM: killed 15 s later)
    const guard = setTimeout(() => child.kill('SIGTERM'), 180_000);
    const code = await waitForExit(child, { timeoutMs: 195_000, what: 'npm run bench', output: read }).finally(() => clearTimeout(guard));
    const output = read();
    assert.equal(code, 0, output);

    const result = JSON.parse(await readFile(json, 'utf8'));
    assert.deepEqual(result.phases.map((phase: { scenario: string }) => phase.scenario), ['oidc', 'saml', 'refresh', 'sso']);
    for (const phase of result.phases) {
      assert.equal(phase.concurrency, 2);
      assert.equal(phase.errors + phase.warmupErrors, 0, `${phase.scenario}: ${phase.errorSamples.join('; ')}`);
      assert.ok(phase.completed > 0, `${phase.scenario} completed no sign-in`);
      assert.ok(phase.idpCpuMsPerSignIn > 0 && phase.idpRssPeakMb > 0, `${phase.scenario}: IdP CPU and RSS are measured`);
    }
    assert.deepEqual(result.libraryFloor.map((row: { scenario: string }) => row.scenario), ['floor-oidc', 'floor-refresh']);
    assert.deepEqual(result.machineFloor.map((row: { scenario: string }) => row.scenario), ['minimal-oidc', 'minimal-refresh']);
    // the minimal server's sign-in does its own LDAP search and bind (slapd's counters)
    assert.equal(result.machineFloor[0].ldapSearchesPerSignIn > 0 && result.machineFloor[0].ldapBindsPerSignIn > 0, true);
    for (const row of [...result.libraryFloor, ...result.machineFloor]) {
      assert.equal(row.errors + row.warmupErrors, 0, `${row.scenario}: ${row.errorSamples.join('; ')}`);
      assert.ok(row.completed > 0 && row.idpCpuMsPerSignIn > 0, `${row.scenario}: sign-ins completed and the provider's CPU measured`);
    }
    assert.match(output, /oidc: Stepgate [\d.]+ ms; oidc-provider alone [\d.]+ ms: Stepgate adds [\d.]+ ms \(\d+ % of the floor\); minimal server [\d.]+ ms: Stepgate is [\d.]+x it/);
    assert.match(output, /the issue's minimal server took 0\.63 ms per sign-in on the issue's machine and [\d.]+ ms here/);
    for (const name of ['rs256Sign', 'es256Sign', 'totpVerify', 'ldapSearchBind']) assert.ok(result.limits[name].perSecond > 0, name);
    assert.equal(result.durability.passed, true, JSON.stringify(result.durability));
    assert.ok(result.durability.completedBeforeKill > 0);
    // the killed IdP wrote an enrollment itself (the setup page), which was stored and signed its user in after the restart
    assert.deepEqual(result.durability.enrolledBeforeKill, { user: 1000, confirmed: true, stored: true, signsInAfterRestart: true });
    assert.match(output, /driver self-check: oidc and saml sign-ins verified, .*a SAML response for another user refused/);
    assert.deepEqual(result.scale.rows.map((row: { liveSessionsApprox: number }) => row.liveSessionsApprox > 1000), [false, true, true, false], 'phases ran base, large, large, base');
    for (const row of result.scale.rows) assert.equal(row.errors + row.warmupErrors, 0, row.errorSamples.join('; '));
    // the compared phases hold no journal compaction on either side, and the run says what it did about them
    for (const row of result.scale.rows) assert.equal(row.journalCompacted, false);
    assert.match(result.scale.compaction, /^journal compactions during the measured phases: /);
    assert.ok(output.includes(result.scale.compaction));
    assert.deepEqual(result.steps.steps.map((step: { request: string }) => step.request.split(' ')[0]), ['GET', 'POST', 'POST', 'POST']);
    for (const step of result.steps.steps) assert.ok(step.cpuMs > 0, `${step.request}: the IdP's CPU is measured`);
    assert.ok(result.targets.length > 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
