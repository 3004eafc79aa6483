/**
 * `npm run bench`: one run, loopback only. Starts slapd with the bench users, measures the machine's
 * limits, seeds and starts Stepgate as a child process (production mode, LDAP, TOTP for everyone,
 * pre-existing SSO sessions, one SAML SP and one OIDC client that require MFA), drives complete
 * sign-ins from worker threads, and prints / writes the results. Flags: see USAGE in options.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SlapdHandle } from '../slapd.ts';
import { installCommand, missingPackages } from '../system-deps.ts';
import { parseOptions, USAGE, type BenchOptions } from './options.ts';
import { enrollingUser, startBenchDirectory } from './ldap.ts';
import { measureLimits, type MachineLimits } from './limits.ts';
import { Bench, refreshTokensOf, say, type Instance } from './bench.ts';
import { SCENARIOS, type RefreshToken } from './driver/protocol.ts';
import { selfCheck } from './driver/self-check.ts';
import { floorGap, limitsTable, partsCpuMs, partsOf, table, toRow, verdicts, verdictText, type PhaseRow } from './report.ts';
import { libraryFloor, machineFloor } from './floor.ts';
import { profileRun, type ProfileSummary } from './profile.ts';
import { durabilityRun, type DurabilityResult } from './durability.ts';
import { scaleRun, type ScaleResult } from './scale.ts';
import { round } from './stats.ts';
import { stepCosts, stepsTable, type StepsResult } from './steps.ts';

interface MainRun {
  main: Instance;
  rows: PhaseRow[];
  refreshTokens: RefreshToken[];
  samlShape: { signatures: number; signedRequests: boolean };
  idpLogBytesDuringLoad: number;
}

/** Every requested scenario at every requested concurrency against one IdP, in the order a to d. */
async function mainRun(bench: Bench, limits: MachineLimits): Promise<MainRun> {
  const { options } = bench;
  say('\nMain run:');
  const main = await bench.start('main', options.sessions);
  const samlShape = { signatures: main.seeded.sp.signatures, signedRequests: main.seeded.sp.signedRequests };
  const shape = { saml: samlShape, idTokenAlg: options.idTokenAlg };
  say(`  driver self-check: ${(await selfCheck(main.setup)).join(' and ')} sign-ins verified, forged id_token, tampered SAML responses and a SAML response for another user refused`);
  const rows: PhaseRow[] = [];
  let liveSessions = options.sessions;
  let refreshTokens: RefreshToken[] = [];
  const logBytesBefore = main.idp.outputBytes();
  const busiest = Math.max(...options.concurrency);
  for (const scenario of SCENARIOS.filter((name) => options.scenarios.includes(name))) {
    if (scenario === 'refresh' && refreshTokens.length < busiest) {
      const minted = await bench.phase(main, 'oidc', Math.min(8, busiest), { warmupMs: 0, durationMs: 2000, recordLimit: 4000 });
      refreshTokens.push(...refreshTokensOf(minted.records));
      liveSessions += minted.completed + minted.outside;
    }
    for (const concurrency of options.concurrency) {
      const outcome = await bench.phase(main, scenario, concurrency, {
        recordLimit: scenario === 'oidc' ? 4000 : 0,
        refreshTokens: scenario === 'refresh' ? refreshTokens : undefined,
        sessions: scenario === 'sso' ? main.seeded.sessions : undefined,
      });
      if (scenario === 'oidc') refreshTokens.push(...refreshTokensOf(outcome.records));
      if (scenario === 'refresh') refreshTokens = outcome.refreshTokens;
      if (scenario === 'oidc' || scenario === 'saml') liveSessions += outcome.completed + outcome.outside;
      const row = toRow(outcome, partsCpuMs(partsOf(scenario, shape), limits), liveSessions);
      rows.push(row);
      const errors = row.errors + row.warmupErrors;
      say(`  ${scenario} c=${concurrency}: ${row.signInsPerSecond}/s p99 ${row.latencyMs.p99} ms, ${errors} errors, IdP ${row.idpCpuMsPerSignIn} ms CPU/sign-in${row.errorSamples.length ? `\n    errors: ${row.errorSamples.join('\n            ')}` : ''}`);
    }
  }
  const idpLogBytesDuringLoad = main.idp.outputBytes() - logBytesBefore;
  if (idpLogBytesDuringLoad > 0) say(`  note: the IdP printed ${idpLogBytesDuringLoad} bytes of log during the load:\n${main.idp.output().slice(-600)}`);
  return { main, rows, refreshTokens, samlShape, idpLogBytesDuringLoad };
}

async function run(options: BenchOptions, tmp: string): Promise<void> {
  const startedAt = new Date();
  const cpuList = cpus();
  const meta = { startedAt: startedAt.toISOString(), node: process.version, cpus: cpuList.length, cpuModel: cpuList[0]?.model ?? 'unknown', loadAverageAtStart: loadavg().map((value) => round(value, 2)), options };
  say(`Stepgate bench, ${meta.startedAt}, Node ${meta.node}, ${meta.cpus} CPUs (${meta.cpuModel}), load average ${meta.loadAverageAtStart.join(' ')}`);
  const missing = missingPackages().filter((pkg) => pkg === 'slapd' || pkg === 'openssl');
  if (missing.length) throw new Error(`the bench needs ${missing.join(' and ')}; install with:\n  ${installCommand(missing)}`);
  let slapd: SlapdHandle | undefined;
  let bench: Bench | undefined;
  try {
    const start = performance.now();
    slapd = await startBenchDirectory(enrollingUser(options.users) + 1, options.groups);
    say(`  slapd with ${options.users} users in ${options.groups} nested groups (and user${enrollingUser(options.users)}, who sets up TOTP in the kill -9 check) up in ${Math.round(performance.now() - start)} ms`);
    bench = new Bench(options, tmp, slapd);

    say('\nMachine limits (this process, same run, IdP not started yet):');
    const limits = await measureLimits(slapd, options.users, options.limitSeconds);
    say(limitsTable(limits));

    await bench.primeCompileCache();
    const result = await mainRun(bench, limits);
    let { main } = result;
    // Right after the main phases, so the host's drift weighs on all alike.
    let floor: PhaseRow[] | undefined;
    if (options.floor && (options.scenarios.includes('oidc') || options.scenarios.includes('refresh'))) {
      say('\nFloors (the same OIDC flows against oidc-provider alone, then against the minimal server):');
      const concurrency = options.concurrency.includes(8) ? 8 : Math.max(...options.concurrency);
      floor = [...(await libraryFloor(bench, limits, concurrency)), ...(await machineFloor(bench, limits, concurrency))];
      for (const row of floor) say(`  ${row.scenario} c=${row.concurrency}: ${row.signInsPerSecond}/s, ${row.errors + row.warmupErrors} errors, ${row.idpCpuMsPerSignIn} ms CPU/sign-in${row.errorSamples.length ? `\n    errors: ${row.errorSamples.join('\n            ')}` : ''}`);
    }
    let steps: StepsResult | undefined;
    if (options.stepFlows > 0 && options.scenarios.includes('oidc')) {
      steps = await stepCosts(main, { flows: options.stepFlows, rounds: options.stepRounds, concurrency: 8 });
      say(`\n${stepsTable(steps)}`);
    }
    let profile: ProfileSummary | undefined;
    if (options.profile) ({ main, summary: profile } = await profileRun(bench, main, options.profileScenario, result.refreshTokens));
    let durability: DurabilityResult | undefined;
    if (options.durability) ({ main, result: durability } = await durabilityRun(bench, main, Math.min(8, Math.max(...options.concurrency))));
    await bench.stop(main);
    const scale: ScaleResult | undefined = options.scaleSessions > 0 ? await scaleRun(bench, limits) : undefined;

    const { rows } = result;
    const finishedAt = new Date();
    const targets = verdicts(rows, { seededSessions: options.sessions, scale, durability, floor });
    say(`\nResults (${meta.startedAt} – ${finishedAt.toISOString()}, load average now ${loadavg().map((value) => value.toFixed(2)).join(' ')}):`);
    say(table(rows));
    say('\n  IdP CPU ms: user+system CPU of the IdP process per sign-in (/proc). parts ms: one LDAP search+bind (client side),');
    say('  one TOTP check and the signatures (and request-signature check) the flow needs, as measured above. CPU/parts: their ratio.');
    say('  LDAP ops: searches+binds the IdP sent per sign-in (slapd counters). store B: bytes appended to the data directory per sign-in.');
    say('  slapd ms, driver ms: CPU of slapd and of the load driver per sign-in (they share the machine with the IdP).');
    say(`  IdP RSS right after start with ${options.sessions} sessions: ${result.main.idleRssMb} MB.`);
    if (floor) {
      say('\nFloors, same driver and ID Token algorithm: oidc-provider alone (in memory; no directory, MFA, pages, policy, store or audit),');
      say(`and the minimal server (LDAP search+bind, TOTP check, one signature; in memory, nothing else):\n${table(floor)}\n${floorGap(rows, floor, options.idTokenAlg)}`);
    }
    if (steps) say(`\n${stepsTable(steps)}`);
    say('\nTargets:');
    say(verdictText(targets));
    if (options.json) {
      const end = { finishedAt: finishedAt.toISOString(), loadAverageAtEnd: loadavg().map((value) => round(value, 2)) };
      const document = { meta: { ...meta, ...end }, limits, samlShape: result.samlShape, idleRssMb: result.main.idleRssMb, idpLogBytesDuringLoad: result.idpLogBytesDuringLoad, phases: rows, libraryFloor: floor?.filter((row) => row.scenario.startsWith('floor-')), machineFloor: floor?.filter((row) => row.scenario.startsWith('minimal-')), steps, scale, durability, profile, targets };
      await writeFile(options.json, JSON.stringify(document, null, 2));
      say(`\nJSON written to ${options.json}`);
    }
    const failed = [...rows, ...(floor ?? [])].some((row) => row.errors + row.warmupErrors > 0) || [...(scale?.rows ?? []), ...(scale?.compactedPhases ?? [])].some((row) => row.errors + row.warmupErrors > 0) || (durability && !durability.passed);
    if (failed) process.exitCode = 1;
  } finally {
    await bench?.killAll();
    await slapd?.stop();
  }
}

// Interrupted (Ctrl-C, a test timeout): exit through 'exit', whose handlers kill the IdP and slapd children.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

let options: BenchOptions;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
const tmp = await mkdtemp(join(tmpdir(), 'stepgate-bench-'));
try {
  await run(options, tmp);
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
} finally {
  if (options.keep) say(`kept ${tmp}`);
  else await rm(tmp, { recursive: true, force: true });
}
