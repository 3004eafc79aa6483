/**
 * Instruction counts (or a CPU profile) of an OIDC sign-in's four requests and of a refresh grant,
 * for telling two versions of the code apart where wall-clock CPU on a shared host is too noisy.
 * Seeds an IdP as the bench does (slapd, TOTP for every user, stored SSO sessions), restarts it
 * (`--mode callgrind`: under `valgrind --tool=callgrind --instr-atstart=no`; `cpuprof`: with
 * `--cpu-prof`; `plain`), warms it up with sign-ins and refresh grants in lock step, then measures
 * rounds of the same. Per batch: the IdP's CPU from /proc; in callgrind mode a named dump, whose Ir
 * per request are printed; the batch's window on the monotonic clock (windows.json in --out), the
 * clock of a .cpuprofile's timestamps, so a profile can be split by request. `--import` preloads a
 * module into the IdP that prints counts on SIGUSR2 (between "STORE-COUNTS" and "END" lines), asked
 * after each batch of the last round; `--node-flag` adds a Node flag (its output, from the measured
 * rounds on, goes to idp-output.txt).
 *
 *   node scripts/bench/count-steps.ts [--mode callgrind|cpuprof|plain] [--flows 100] [--rounds 3]
 *        [--warmup 400] [--users 10000] [--sessions 10000] [--out DIR] [--import PRELOAD] [--node-flag FLAG]...
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseOptions } from './options.ts';
import { enrollingUser, startBenchDirectory } from './ldap.ts';
import { Bench, say } from './bench.ts';
import { COMPILE_CACHE, ROOT, startFlags } from './child.ts';
import { batch, requests, STEP_NAMES, type Flow, type Work } from './steps.ts';
import { BenchError, encodeForm, HttpClient, Jar } from './driver/http.ts';
import { UserPicker } from './driver/users.ts';

const args = process.argv.slice(2);

/** utime and stime of every thread of `pid`, in clock ticks (10 ms). */
function cpuTicks(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(fields[11]), system: Number(fields[12]) };
}
const flag = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1]! : fallback;
};
const mode = flag('mode', 'callgrind');
const flows = Number(flag('flows', '100'));
const rounds = Number(flag('rounds', '3'));
const warmup = Number(flag('warmup', '400'));
const out = flag('out', join(tmpdir(), `stepgate-count-${Date.now()}`));
const options = parseOptions(['--users', flag('users', '10000'), '--sessions', flag('sessions', '10000'), '--log-level', 'warn']);

const tmp = await mkdtemp(join(tmpdir(), 'stepgate-count-'));
await mkdir(out, { recursive: true });
const slapd = await startBenchDirectory(enrollingUser(options.users) + 1, options.groups);
const bench = new Bench(options, tmp, slapd);
let child: ReturnType<typeof spawn> | undefined;
try {
  await bench.primeCompileCache();
  const seeded = await bench.start('main', options.sessions);
  await bench.stop(seeded);

  const wrapper = mode === 'callgrind' ? ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}/callgrind.out.%p`] : [];
  const extraFlags = args.flatMap((arg, at) => (arg === '--node-flag' ? [args[at + 1]!] : []));
  const nodeArgs = [...startFlags(), ...extraFlags, ...(args.includes('--import') ? ['--import', flag('import', '')] : []), ...(mode === 'cpuprof' ? ['--cpu-prof', `--cpu-prof-dir=${out}`] : []), join(ROOT, 'src/main.ts')];
  const command = [...wrapper, process.execPath, ...nodeArgs];
  child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { NODE_COMPILE_CACHE: COMPILE_CACHE, ...process.env, STEPGATE_CONFIG: join(tmp, 'main.config.json'), LOG_LEVEL: 'warn', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  // the whole output when a preload reports through it, else its end (for error messages)
  const keep = args.includes('--import') || extraFlags.length > 0 ? Infinity : 8000;
  child.stdout!.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-keep)));
  child.stderr!.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-keep)));
  const started = performance.now();
  while (!tail.includes('Stepgate is running')) {
    if (child.exitCode !== null) throw new Error(`the IdP exited:\n${tail}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  say(`IdP (${mode}) pid ${child.pid} up in ${Math.round(performance.now() - started)} ms`);
  const pid = child.pid!;

  const setup = seeded.setup;
  const oidc = setup.oidc!;
  const users = new UserPicker(setup);
  const signIn = requests(seeded, users);
  const basic = Buffer.from(`${encodeURIComponent(oidc.clientId)}:${encodeURIComponent(oidc.clientSecret)}`).toString('base64');
  const refresh: Work = async (flow, http) => {
    const reply = await http.send('POST', oidc.tokenEndpoint, { body: encodeForm({ grant_type: 'refresh_token', refresh_token: flow.refreshToken! }), headers: { authorization: `Basic ${basic}`, accept: 'application/json' } });
    if (reply.status !== 200) throw new BenchError('refresh', `HTTP ${reply.status}: ${reply.body.slice(0, 200)}`);
    const tokens = JSON.parse(reply.body) as { id_token?: string; refresh_token?: string };
    if (!tokens.id_token) throw new BenchError('refresh', 'no id_token');
    flow.refreshToken = tokens.refresh_token ?? flow.refreshToken;
  };
  const work = [...signIn, refresh];
  const names = [...STEP_NAMES, 'POST token (refresh grant)'];
  const clients = Array.from({ length: 8 }, () => new HttpClient(setup.idpUrl));
  const newFlows = (count: number): Flow[] => Array.from({ length: count }, () => ({ jar: new Jar(), state: randomBytes(12).toString('base64url'), verifier: randomBytes(32).toString('base64url'), user: users.next() }));
  const control = (...extra: string[]) => execFileSync('callgrind_control', [...extra, String(pid)], { stdio: 'pipe' });

  for (let done = 0; done < warmup; done += flows) {
    const group = newFlows(flows);
    for (const step of work) await batch(group, clients, step);
    say(`  warm-up ${done + flows}/${warmup}`);
  }
  const perStep: number[][] = names.map(() => []);
  const measuredFrom = tail.length;
  const times: Array<Array<[number, number]>> = names.map(() => []);
  // monotonic µs, the clock of a .cpuprofile's timestamps: its samples can be split by request
  const windows: Array<{ step: string; round: number; fromUs: number; toUs: number }> = [];
  if (mode === 'callgrind') control('-i', 'on');
  for (let round = 0; round < rounds; round++) {
    const group = newFlows(flows);
    if (args.includes('--import') && round === rounds - 1) {
      process.kill(pid, 'SIGUSR2'); // the preload's counts start again
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    for (const [index, step] of work.entries()) {
      if (mode === 'callgrind') control('--zero');
      const before = cpuTicks(pid);
      const from = process.hrtime.bigint() / 1000n;
      await batch(group, clients, step);
      windows.push({ step: names[index]!, round, fromUs: Number(from), toUs: Number(process.hrtime.bigint() / 1000n) });
      const after = cpuTicks(pid);
      times[index]!.push([(after.user - before.user) * 10 / flows, (after.system - before.system) * 10 / flows]);
      if (args.includes('--import') && round === rounds - 1) {
        // the preload prints what it counted during this batch on SIGUSR2
        const mark = tail.length;
        process.kill(pid, 'SIGUSR2');
        while (!tail.slice(mark).includes('END')) await new Promise((resolve) => setTimeout(resolve, 50));
        say(`  ${names[index]}, per request:\n${tail.slice(mark).split('END')[0]}`);
      }
      if (mode === 'callgrind') {
        control(`--dump=r${round}s${index}`);
        const files = (await readdir(out)).filter((name) => name.startsWith(`callgrind.out.${pid}.`));
        const newest = files.sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop())).pop()!;
        const text = await readFile(join(out, newest), 'utf8');
        const totals = /^(?:totals|summary): (\d+)/m.exec(text);
        perStep[index]!.push(Number(totals![1]) / flows);
      }
    }
    say(`  round ${round + 1}/${rounds}${mode === 'callgrind' ? ': ' + perStep.map((values) => (values.at(-1)! / 1e6).toFixed(3)).join(' ') + ' M Ir per request' : ''}`);
  }
  for (const client of clients) client.close();
  if (extraFlags.length > 0) await writeFile(join(out, 'idp-output.txt'), tail.slice(measuredFrom));
  await writeFile(join(out, 'windows.json'), JSON.stringify({ flows, windows }, null, 1));
  say(`IdP CPU per request (ms, user+system from /proc, every thread; ${rounds} rounds of ${flows}):`);
  for (const [index, name] of names.entries()) say(`  ${name.padEnd(48)} ${times[index]!.map(([user, system]) => `${user.toFixed(2)}+${system.toFixed(2)}`).join('  ')}`);
  if (mode === 'callgrind') {
    say(`Ir per request (M), ${rounds} rounds of ${flows} after ${warmup} of warm-up:`);
    for (const [index, name] of names.entries()) say(`  ${name.padEnd(48)} ${perStep[index]!.map((value) => (value / 1e6).toFixed(3)).join('  ')}`);
    const signIn = perStep.slice(0, 4).reduce((sum, values) => values.map((value, at) => value + (sum[at] ?? 0)), [] as number[]);
    say(`  ${'sign-in total'.padEnd(48)} ${signIn.map((value) => (value / 1e6).toFixed(3)).join('  ')}`);
  }
} finally {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child!.once('exit', resolve));
  }
  await bench.killAll();
  await slapd.stop();
  await rm(tmp, { recursive: true, force: true });
  say(`output in ${out}`);
}
