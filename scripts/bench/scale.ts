/**
 * The store-scale check: the same OIDC load against a fresh IdP seeded with the usual number of
 * sessions and one seeded with many more. Per-sign-in store writes are O(1) when the rate stays the
 * same and the bytes appended per sign-in do not grow with the store.
 */
import { rm } from 'node:fs/promises';
import { say, type Bench } from './bench.ts';
import { partsCpuMs, partsOf, toRow, type PhaseRow } from './report.ts';
import type { MachineLimits } from './limits.ts';
import { round } from './stats.ts';
import { profileDir, stopAndSummarise, type ProfileSummary } from './profile.ts';

export interface ScaleResult {
  /** sign-ins/s with the large store divided by sign-ins/s with the base one. */
  ratio: number;
  base: number;
  scaled: number;
  sessions: [number, number];
  rows: PhaseRow[];
  /** RSS of each IdP right after start, with its seeded sessions loaded. */
  idleRssMb: number[];
  /** With --profile: where the large store's IdP spends its time. */
  profile?: ProfileSummary;
}

export async function scaleRun(bench: Bench, limits: MachineLimits): Promise<ScaleResult> {
  const { sessions, scaleSessions, scaleConcurrency } = bench.options;
  say(`\nStore scale: OIDC at concurrency ${scaleConcurrency} with ${sessions} and with ${scaleSessions} sessions (a fresh IdP each):`);
  const rows: PhaseRow[] = [];
  const idleRssMb: number[] = [];
  let profile: ProfileSummary | undefined;
  for (const [name, count] of [['scale-base', sessions], ['scale-large', scaleSessions]] as const) {
    const instance = await bench.start(name, count);
    const outcome = await bench.phase(instance, 'oidc', scaleConcurrency);
    await bench.stop(instance);
    if (bench.options.profile && name === 'scale-large') {
      say(`  profile of the IdP with ${count} sessions (a separate phase, so the profiler does not slow the compared one):`);
      const dir = await profileDir(bench);
      const profiled = await bench.start(name, 0, instance, dir);
      profile = await stopAndSummarise(bench, profiled, dir, await bench.phase(profiled, 'oidc', scaleConcurrency));
    }
    await rm(instance.dataDir, { recursive: true, force: true });
    const row = toRow(outcome, partsCpuMs(partsOf('oidc', { saml: { signatures: 0, signedRequests: false }, idTokenAlg: bench.options.idTokenAlg }), limits), count + outcome.completed);
    rows.push(row);
    idleRssMb.push(instance.idleRssMb);
    say(`  ${count} sessions: ${row.signInsPerSecond}/s, IdP ${row.idpCpuMsPerSignIn} ms CPU and ${row.storeBytesPerSignIn ?? '(journal compacted during the phase: n/a)'} bytes appended to the store per sign-in, idle RSS ${instance.idleRssMb} MB, peak ${row.idpRssPeakMb} MB, ${row.errors + row.warmupErrors} errors`);
  }
  const [base, large] = rows as [PhaseRow, PhaseRow];
  return { ratio: base.signInsPerSecond ? round(large.signInsPerSecond / base.signInsPerSecond, 3) : 0, base: base.signInsPerSecond, scaled: large.signInsPerSecond, sessions: [sessions, scaleSessions], rows, idleRssMb, profile };
}
