/**
 * The store-scale check: the same OIDC load against a fresh IdP seeded with the usual number of
 * sessions and one seeded with many more, two phases each. Per-sign-in store writes are O(1) when the rate stays the
 * same and the bytes appended per sign-in do not grow with the store.
 *
 * A journal compaction (O(n), once per 4x growth of the journal) falls within reach of the small
 * store's phases but not of the large one's, whose threshold grows with its size: counted on one side
 * only, it would tilt the ratio. A phase during which either IdP compacted is therefore not compared
 * and run again, so that the compared means hold no compaction on either side; the run says so.
 */
import { rm } from 'node:fs/promises';
import { say, type Bench, type Instance } from './bench.ts';
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
  /** The four compared phases in the order they ran: base, large, large, base. */
  rows: PhaseRow[];
  /** Phases during which the IdP compacted its journal: not compared, each run again. */
  compactedPhases: PhaseRow[];
  /** What was done about compactions, as printed. */
  compaction: string;
  /** RSS of each IdP right after start, with its seeded sessions loaded. */
  idleRssMb: number[];
  /** With --profile: where the large store's IdP spends its time. */
  profile?: ProfileSummary;
}

/** A phase with a compaction is run again at most this often, then left out. */
const MAX_ATTEMPTS = 3;

interface Side {
  count: number;
  instance: Instance;
  /** Compared phases. */
  rows: PhaseRow[];
  /** Phases with a journal compaction, run again. */
  compacted: PhaseRow[];
}

function compactionNote(base: Side, large: Side): string {
  if (base.compacted.length + large.compacted.length === 0) return 'journal compactions during the measured phases: none on either side';
  const short = [base, large].filter((side) => side.rows.length < 2).map((side) => `with ${side.count} sessions only ${side.rows.length}`);
  return (
    `journal compactions during the measured phases: ${base.compacted.length} with ${base.count} sessions, ${large.compacted.length} with ${large.count}; ` +
    `those phases were left out of the means and run again, so the means hold no compaction on either side (a compaction is O(n), once per 4x growth of the journal)` +
    (short.length ? `; phases in the means: ${short.join(', ')}` : '')
  );
}

export async function scaleRun(bench: Bench, limits: MachineLimits): Promise<ScaleResult> {
  const { sessions, scaleSessions, scaleConcurrency } = bench.options;
  say(`\nStore scale: OIDC at concurrency ${scaleConcurrency} with ${sessions} and with ${scaleSessions} sessions (a fresh IdP each, phases in the order base, large, large, base):`);
  const parts = partsCpuMs(partsOf('oidc', { saml: { signatures: 0, signedRequests: false }, idTokenAlg: bench.options.idTokenAlg }), limits);
  const base: Side = { count: sessions, instance: await bench.start('scale-base', sessions), rows: [], compacted: [] };
  const large: Side = { count: scaleSessions, instance: await bench.start('scale-large', scaleSessions), rows: [], compacted: [] };
  const rows: PhaseRow[] = [];
  const signInsOf = (side: Side) => side.count + [...side.rows, ...side.compacted].reduce((sum, row) => sum + row.completed, 0);
  // The host's speed drifts within minutes: each store gets one phase early and one late, so a
  // steady drift weighs on both alike (one phase each made the ratio swing by ±15 % here).
  for (const side of [base, large, large, base]) {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const outcome = await bench.phase(side.instance, 'oidc', scaleConcurrency);
      const row = toRow(outcome, parts, signInsOf(side) + outcome.completed);
      if (row.journalCompacted) {
        side.compacted.push(row);
        say(`  ${side.count} sessions: ${row.signInsPerSecond}/s, but the IdP compacted its journal during the phase: not compared${attempt < MAX_ATTEMPTS ? ', run again' : `, and no phase without a compaction in ${MAX_ATTEMPTS} attempts`}`);
        continue;
      }
      side.rows.push(row);
      rows.push(row);
      say(`  ${side.count} sessions: ${row.signInsPerSecond}/s, IdP ${row.idpCpuMsPerSignIn} ms CPU and ${row.storeBytesPerSignIn ?? '(a store file was replaced during the phase: n/a)'} bytes appended to the store per sign-in, peak RSS ${row.idpRssPeakMb} MB, ${row.errors + row.warmupErrors} errors`);
      break;
    }
  }
  const compaction = compactionNote(base, large);
  say(`  ${compaction}`);
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
  const rate = (side: Side) => (side.rows.length ? round(side.rows.reduce((sum, row) => sum + row.signInsPerSecond, 0) / side.rows.length, 1) : 0);
  const [baseRate, largeRate] = [rate(base), rate(large)];
  say(`  mean: ${baseRate}/s with ${sessions} sessions, ${largeRate}/s with ${scaleSessions}; idle RSS ${base.instance.idleRssMb} and ${large.instance.idleRssMb} MB`);
  return { ratio: baseRate && largeRate ? round(largeRate / baseRate, 3) : 0, base: baseRate, scaled: largeRate, sessions: [sessions, scaleSessions], rows, compactedPhases: [...base.compacted, ...large.compacted], compaction, idleRssMb: [base.instance.idleRssMb, large.instance.idleRssMb], profile };
}
