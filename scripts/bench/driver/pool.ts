/**
 * Runs one measured phase (a scenario at a concurrency): starts the driver workers, lines them up on
 * a common clock (warm-up, then the measured window), and samples the IdP, slapd and the driver from
 * /proc at both edges of the window.
 */
import { Worker } from 'node:worker_threads';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sample, cpuMsOf, RssWatcher } from '../proc.ts';
import { percentiles, round, type Percentiles } from '../stats.ts';
import type { LdapOpCounter } from '../ldap.ts';
import { SubjectLedger } from './subjects.ts';
import type { DriverSetup, PhaseClock, PhaseJob, PhaseResult, PhaseScenario, RefreshToken, SeededSession, SignInRecord, WorkerMessage } from './protocol.ts';

const WORKER = new URL('./worker.ts', import.meta.url);

export interface PhaseOptions {
  scenario: PhaseScenario;
  concurrency: number;
  /** Driver threads (each runs concurrency/workers loops). */
  workers: number;
  warmupMs: number;
  durationMs: number;
  idpPid: number;
  slapdPid: number;
  /** The IdP's data directory: its growth per sign-in is what the store writes. */
  dataDir: string;
  ldapOps?: LdapOpCounter;
  refreshTokens?: RefreshToken[];
  sessions?: SeededSession[];
  recordLimit?: number;
  /** Runs `ms` after the measured window opened (the kill -9 check). */
  during?: { ms: number; action: () => Promise<void> | void };
}

export interface PhaseOutcome {
  scenario: PhaseScenario;
  concurrency: number;
  workers: number;
  durationS: number;
  completed: number;
  /** Finished during warm-up or after the window. */
  outside: number;
  signInsPerSecond: number;
  latencyMs: Percentiles;
  errors: number;
  warmupErrors: number;
  errorSamples: string[];
  idpCpuMsPerSignIn: number;
  /** Share of one core the IdP used during the window. */
  idpCpuCores: number;
  idpRssPeakMb: number;
  /** Growth of the data directory's files per sign-in (journal, audit log): what the store appends; null when a file was replaced during the phase. */
  storeBytesPerSignIn: number | null;
  /** The IdP compacted its journal (an O(n) rewrite) during the measured window, or was doing so at one of its edges. */
  journalCompacted: boolean;
  slapdCpuMsPerSignIn: number;
  /** LDAP operations the IdP sent per sign-in (the minimum is one search and one bind). */
  ldapSearchesPerSignIn: number;
  ldapBindsPerSignIn: number;
  driverCpuMsPerSignIn: number;
  records: SignInRecord[];
  refreshTokens: RefreshToken[];
  /** The measured window, epoch ms. */
  window: { start: number; end: number };
}

function split<T>(items: readonly T[] | undefined, parts: number, part: number): T[] | undefined {
  return items?.filter((_, index) => index % parts === part);
}

export async function runPhase(setup: DriverSetup, options: PhaseOptions): Promise<PhaseOutcome> {
  const workers = Math.max(1, Math.min(options.workers, options.concurrency));
  const threads = Array.from({ length: workers }, (_, index) => {
    const loops = Math.floor(options.concurrency / workers) + (index < options.concurrency % workers ? 1 : 0);
    const job: PhaseJob = {
      scenario: options.scenario,
      loops,
      refreshTokens: split(options.refreshTokens, workers, index),
      sessions: split(options.sessions, workers, index),
      recordLimit: Math.ceil((options.recordLimit ?? 0) / workers),
    };
    // inherits --cpu-prof when the bench itself is profiled: each worker then writes its own profile
    return new Worker(WORKER, { workerData: { setup, job }, execArgv: [...new Set(['--disable-warning=ExperimentalWarning', ...process.execArgv])] });
  });
  const exits = threads.map((thread) => new Promise<void>((resolve) => thread.once('exit', () => resolve())));
  const results: Array<Promise<PhaseResult>> = [];
  const ready = threads.map(
    (thread) =>
      new Promise<void>((resolveReady, rejectReady) => {
        results.push(
          new Promise<PhaseResult>((resolve, reject) => {
            thread.on('message', (message: WorkerMessage) => {
              if (message.type === 'ready') resolveReady();
              else if (message.type === 'done') resolve(message.result);
              else {
                const error = new Error(`driver worker failed: ${message.error}`);
                rejectReady(error);
                reject(error);
              }
            });
            thread.once('error', (error) => (rejectReady(error), reject(error)));
          }),
        );
      }),
  );
  try {
    await Promise.all(ready);
  } catch (error) {
    await Promise.all(threads.map((thread) => thread.terminate()));
    throw error;
  }

  // Every SAML sign-in counted must have passed its deferred check, which leaves its trace in the ledger.
  const subjects = options.scenario === 'saml' ? new SubjectLedger(setup.subjectBuffer, setup.users) : undefined;
  const checkedBefore = subjects?.checked ?? 0;
  const startAt = Date.now() + 50;
  const measureStart = startAt + options.warmupMs;
  const measureEnd = measureStart + options.durationMs;
  const clock: PhaseClock = { startAt, measureStart, measureEnd };
  for (const thread of threads) thread.postMessage(clock);

  await new Promise((resolve) => setTimeout(resolve, measureStart - Date.now()));
  const ldapBefore = await options.ldapOps?.read();
  const rss = new RssWatcher(options.idpPid);
  const before = { idp: sample(options.idpPid), slapd: cpuMsOf(options.slapdPid), driver: cpuMsOf(process.pid), store: dirBytes(options.dataDir) };
  const during = options.during ? new Promise((resolve) => setTimeout(resolve, options.during!.ms)).then(options.during.action) : undefined;
  await new Promise((resolve) => setTimeout(resolve, measureEnd - Date.now()));
  let after = before;
  try {
    after = { idp: sample(options.idpPid), slapd: cpuMsOf(options.slapdPid), driver: cpuMsOf(process.pid), store: dirBytes(options.dataDir) };
  } catch {
    after = { ...before, driver: cpuMsOf(process.pid), store: dirBytes(options.dataDir) }; // the IdP was killed on purpose
  }
  const peakKb = rss.stop();
  const ldap = ldapBefore && options.ldapOps ? options.ldapOps.between(ldapBefore, await options.ldapOps.read()) : { searches: 0, binds: 0 };
  await during;
  const parts = await withTimeout(Promise.all(results), 60_000, `the ${options.scenario} workers did not finish within 60 s of the window's end`);
  // A finished worker exits by itself (so a profiling worker can write its profile); only a stuck one is terminated.
  const stuck = setTimeout(() => threads.forEach((thread) => void thread.terminate()), 5_000);
  await Promise.all(exits);
  clearTimeout(stuck);

  const completed = parts.reduce((sum, part) => sum + part.completed, 0);
  const outside = parts.reduce((sum, part) => sum + part.outside, 0);
  if (subjects && subjects.checked - checkedBefore !== completed + outside) {
    throw new Error(`${completed + outside} SAML sign-ins were counted, but ${subjects.checked - checkedBefore} assertions passed the subject check: a driver bug counts unchecked sign-ins`);
  }
  const latencies = parts.flatMap((part) => part.latencies);
  const per = (value: number) => (completed ? round(value / completed, 3) : 0);
  return {
    scenario: options.scenario,
    concurrency: options.concurrency,
    workers,
    durationS: options.durationMs / 1000,
    completed,
    outside,
    signInsPerSecond: round(completed / (options.durationMs / 1000), 1),
    latencyMs: mapValues(percentiles(latencies), (value) => round(value, 1)),
    errors: parts.reduce((sum, part) => sum + part.errors, 0),
    warmupErrors: parts.reduce((sum, part) => sum + part.warmupErrors, 0),
    errorSamples: [...new Set(parts.flatMap((part) => part.errorSamples))].slice(0, 8),
    idpCpuMsPerSignIn: per(after.idp.cpuMs - before.idp.cpuMs),
    idpCpuCores: round((after.idp.cpuMs - before.idp.cpuMs) / options.durationMs, 2),
    idpRssPeakMb: round(peakKb / 1024, 1),
    // A compaction during the phase rewrote the journal: the size difference says nothing about appends.
    storeBytesPerSignIn: after.store.inodes === before.store.inodes ? Math.round(per(after.store.bytes - before.store.bytes)) : null,
    journalCompacted: journalCompacted(before.store.journal, after.store.journal),
    slapdCpuMsPerSignIn: per(after.slapd - before.slapd),
    ldapSearchesPerSignIn: round(per(ldap.searches), 2),
    ldapBindsPerSignIn: round(per(ldap.binds), 2),
    driverCpuMsPerSignIn: per(after.driver - before.driver),
    records: parts.flatMap((part) => part.records),
    refreshTokens: parts.flatMap((part) => part.refreshTokens ?? []),
    window: { start: measureStart, end: measureEnd },
  };
}

/** The store's journal (src/store/lowdb-store.ts); a compaction writes `kv.journal.tmp` and renames it over the journal. */
const JOURNAL = 'kv.journal';

interface JournalState {
  inode?: number;
  bytes: number;
  /** A compaction's new journal was being written. */
  rewriting: boolean;
}

function journalCompacted(before: JournalState, after: JournalState): boolean {
  return before.rewriting || after.rewriting || before.inode !== after.inode || after.bytes < before.bytes;
}

/** Bytes of the data directory's files, their inodes (a replaced file has a new one), and the journal's state. */
function dirBytes(dir: string): { bytes: number; inodes: string; journal: JournalState } {
  let bytes = 0;
  const inodes: string[] = [];
  const journal: JournalState = { bytes: 0, rewriting: false };
  for (const name of readdirSync(dir).sort()) {
    try {
      const stats = statSync(join(dir, name));
      if (!stats.isFile()) continue;
      bytes += stats.size;
      inodes.push(`${name}:${stats.ino}`);
      if (name === JOURNAL) Object.assign(journal, { inode: stats.ino, bytes: stats.size });
      if (name === `${JOURNAL}.tmp`) journal.rewriting = true;
    } catch {
      inodes.push(`${name}:replaced`); // replaced during a compaction
      if (name.startsWith(JOURNAL)) journal.rewriting = true;
    }
  }
  return { bytes, inodes: inodes.join(','), journal };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function mapValues<T extends object>(object: T, map: (value: number) => number): T {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, map(value as number)])) as T;
}
