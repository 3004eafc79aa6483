/** Profiles the IdP under load and summarises the V8 .cpuprofile: self time by function and by where the code lives. */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { round } from './stats.ts';
import { say, type Bench, type Instance } from './bench.ts';
import type { PhaseOutcome } from './driver/pool.ts';
import type { RefreshToken, ScenarioName } from './driver/protocol.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  name: string;
  where: string;
  selfMs: number;
  /** Share of the busy (non-idle) time. */
  selfPercent: number;
}

export interface ProfileSummary {
  busyMs: number;
  /** Busy CPU ms per completed sign-in of the profiled phase (when known). */
  busyMsPerSignIn?: number;
  topFunctions: ProfileEntry[];
  byArea: Array<{ area: string; selfMs: number; selfPercent: number }>;
}

/** The repository root as profile URLs spell it (file:///…/), so locations print relative to it. */
const ROOT_URL = new URL('../../', import.meta.url).href;

function relative(url: string): string {
  return url.startsWith(ROOT_URL) ? url.slice(ROOT_URL.length) : url.replace(/^file:\/\//, '');
}

/** Where a function lives: a package, a Stepgate folder, Node internals, or V8 itself. */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:' + (url.slice(5).split('/')[1] ?? url.slice(5));
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const path = relative(url);
  if (path.startsWith('src/')) return 'stepgate ' + path.split('/').slice(0, 2).join('/');
  if (path.startsWith('views/')) return 'stepgate views';
  return path;
}

function shortWhere(url: string, line: number): string {
  const modules = url.lastIndexOf('/node_modules/');
  const path = modules >= 0 ? url.slice(modules + '/node_modules/'.length) : relative(url);
  return path ? `${path}:${line + 1}` : '';
}

/**
 * `window`: only samples from this part of the run, given as ms before the end of the profile (the
 * process was stopped right after the measured window), so start-up and warm-up do not count.
 */
export async function summariseProfile(path: string, options: { signIns?: number; window?: { fromEndMs: number; toEndMs: number }; top?: number } = {}): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  const from = options.window ? profile.endTime - options.window.fromEndMs * 1000 : -Infinity;
  const to = options.window ? profile.endTime - options.window.toEndMs * 1000 : Infinity;
  let at = profile.startTime;
  for (let index = 0; index < profile.samples.length; index++) {
    at += profile.timeDeltas[index] ?? 0;
    if (at < from || at > to) continue;
    const id = profile.samples[index]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  }
  const top = options.top ?? 25;
  const signIns = options.signIns;
  const functions = new Map<string, { name: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    busyUs += us;
    const name = functionName || '(anonymous)';
    const key = `${name}@${url}:${lineNumber}`;
    const entry = functions.get(key) ?? { name, where: shortWhere(url, lineNumber), us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const percent = (us: number) => round((100 * us) / Math.max(1, busyUs), 1);
  return {
    busyMs: round(busyUs / 1000, 0),
    busyMsPerSignIn: signIns ? round(busyUs / 1000 / signIns, 3) : undefined,
    topFunctions: [...functions.values()].sort((a, b) => b.us - a.us).slice(0, top).map((entry) => ({ name: entry.name, where: entry.where, selfMs: round(entry.us / 1000, 0), selfPercent: percent(entry.us) })),
    byArea: [...areas.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([area, us]) => ({ area, selfMs: round(us / 1000, 0), selfPercent: percent(us) })),
  };
}

export function profileText(summary: ProfileSummary): string {
  const lines = [
    `  busy ${summary.busyMs} ms${summary.busyMsPerSignIn !== undefined ? ` (${summary.busyMsPerSignIn} ms per sign-in on the main thread)` : ''}`,
    '  (V8 samples wall-clock time: on a busy machine, time the IdP waits preempted inside a system call, typically a socket',
    '  write that wakes slapd or the driver, is counted to that call; /proc CPU in the table is the exact figure)',
    '  self time by area:',
  ];
  for (const area of summary.byArea.slice(0, 15)) lines.push(`    ${area.selfPercent.toFixed(1).padStart(5)}%  ${area.area}`);
  lines.push('  top functions by self time:');
  for (const entry of summary.topFunctions) lines.push(`    ${entry.selfPercent.toFixed(1).padStart(5)}%  ${entry.name}  ${entry.where}`);
  return lines.join('\n');
}

/** Stops an IdP that runs under `--cpu-prof` (the profile is written at exit) and summarises the window of `outcome`. */
export async function stopAndSummarise(bench: Bench, instance: Instance, dir: string, outcome: PhaseOutcome): Promise<ProfileSummary> {
  const stoppedAt = Date.now();
  await bench.stop(instance);
  const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile') && name.includes(`.${instance.idp.pid}.`));
  if (!file) throw new Error(`the IdP (pid ${instance.idp.pid}) wrote no .cpuprofile in ${dir}`);
  // the measured window only, trimmed by 100 ms at both ends for the stop's own latency
  const window = { fromEndMs: stoppedAt - outcome.window.start - 100, toEndMs: stoppedAt - outcome.window.end + 100 };
  const share = (window.fromEndMs - window.toEndMs) / (outcome.window.end - outcome.window.start);
  const summary = await summariseProfile(join(dir, file), { signIns: outcome.completed * share, window });
  say(`  ${outcome.signInsPerSecond}/s under the profiler (profile: ${join(dir, file)})`);
  say(profileText(summary));
  return summary;
}

export async function profileDir(bench: Bench): Promise<string> {
  const dir = join(bench.tmp, 'profiles');
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Restarts the IdP under `--cpu-prof`, runs one phase of `scenario` at concurrency 8 and summarises
 * it. Returns the IdP restarted without the profiler (refresh tokens may have rotated in `outcome`).
 */
export async function profileRun(bench: Bench, main: Instance, scenario: ScenarioName, refreshTokens: RefreshToken[]): Promise<{ main: Instance; summary: ProfileSummary; outcome: PhaseOutcome }> {
  say(`\nProfile (--cpu-prof) of the IdP during ${scenario} at concurrency 8:`);
  await bench.stop(main);
  const dir = await profileDir(bench);
  const profiled = await bench.start(main.name, 0, main, dir);
  const outcome = await bench.phase(profiled, scenario, 8, {
    refreshTokens: scenario === 'refresh' ? refreshTokens : undefined,
    sessions: scenario === 'sso' ? main.seeded.sessions : undefined,
    recordLimit: scenario === 'oidc' ? 4000 : 0,
  });
  const summary = await stopAndSummarise(bench, profiled, dir, outcome);
  return { main: await bench.start(main.name, 0, main), summary, outcome };
}
