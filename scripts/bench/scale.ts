/**
 * The store-scale check: the same OIDC load against a fresh IdP seeded with the usual number of
 * sessions and one seeded with many more, two phases each. Per-sign-in store writes are O(1) when the rate stays the
 * same and the bytes appended per sign-in do not grow with the store.
 */
import { rm } from 'node:fs/promises';
import { say, type Bench } from './bench.ts';
import { partsCpuMs, partsOf, toRow, type PhaseRow } from './report.ts';
import type { MachineLimits } from './limits.ts';
import { round } from './stats.ts';
import { profileDir, stopAndSummarise, type ProfileSummary } from './profile.ts';

export interface ScaleResult {
  /** Mean sign-ins/s with the large store divided by the mean with the base one. */
  ratio: number;
  base: number;
  scaled: number;
  sessions: [number, number];
  /** The four phases in the order they ran: base, large, large, base. */
  rows: PhaseRow[];
  /** RSS of each IdP right after start, with its seeded sessions loaded. */
  idleRssMb: number[];
  /** With --profile: where the large store's IdP spends its time. */
  profile?: ProfileSummary;
}

export async function scaleRun(bench: Bench, limits: MachineLimits): Promise<ScaleResult> {
  const { sessions, scaleSessions, scaleConcurrency } = bench.options;
  say(`\nStore scale: OIDC at concurrency ${scaleConcurrency} with ${sessions} and with ${scaleSessions} sessions (a fresh IdP each, phases in the order base, large, large, base):`);
  const parts = partsCpuMs(partsOf('oidc', { saml: { signatures: 0, signedRequests: false }, idTokenAlg: bench.options.idTokenAlg }), limits);
  const base = { count: sessions, instance: await bench.start('scale-base', sessions), rows: [] as PhaseRow[] };
  const large = { count: scaleSessions, instance: await bench.start('scale-large', scaleSessions), rows: [] as PhaseRow[] };
  const rows: PhaseRow[] = [];
  // The host's speed drifts within minutes: each store gets one phase early and one late, so a
  // steady drift weighs on both alike (one phase each made the ratio swing by ±15 % here).
  for (const side of [base, large, large, base]) {
    const outcome = await bench.phase(side.instance, 'oidc', scaleConcurrency);
    const row = toRow(outcome, parts, side.count + side.rows.reduce((sum, earlier) => sum + earlier.completed, 0) + outcome.completed);
    side.rows.push(row);
    rows.push(row);
    say(`  ${side.count} sessions: ${row.signInsPerSecond}/s, IdP ${row.idpCpuMsPerSignIn} ms CPU and ${row.storeBytesPerSignIn ?? '(journal compacted during the phase: n/a)'} bytes appended to the store per sign-in, peak RSS ${row.idpRssPeakMb} MB, ${row.errors + row.warmupErrors} errors`);
  }
  await bench.stop(base.instance);
  await bench.stop(large.instance);
  let profile: ProfileSummary | undefined;
  if (bench.options.profile) {
    say(`  profile of the IdP with ${scaleSessions} sessions (a separate phase, so the profiler does not slow the compared ones):`);
    const dir = await profileDir(bench);
    const profiled = await bench.start('scale-large', 0, large.instance, dir);
    profile = await stopAndSummarise(bench, profiled, dir, await bench.phase(profiled, 'oidc', scaleConcurrency));
  }
  for (const side of [base, large]) await rm(side.instance.dataDir, { recursive: true, force: true });
  const rate = (side: typeof base) => round(side.rows.reduce((sum, row) => sum + row.signInsPerSecond, 0) / side.rows.length, 1);
  const [baseRate, largeRate] = [rate(base), rate(large)];
  say(`  mean: ${baseRate}/s with ${sessions} sessions, ${largeRate}/s with ${scaleSessions}; idle RSS ${base.instance.idleRssMb} and ${large.instance.idleRssMb} MB`);
  return { ratio: baseRate ? round(largeRate / baseRate, 3) : 0, base: baseRate, scaled: largeRate, sessions: [sessions, scaleSessions], rows, idleRssMb: [base.instance.idleRssMb, large.instance.idleRssMb], profile };
}
