/**
 * Where an OIDC sign-in's IdP CPU goes, request by request. `flows` sign-ins run in lock step (every
 * flow's authorization request, then every password post, then every TOTP post, then every token
 * exchange), `concurrency` at a time, and the IdP's CPU (every thread, from /proc schedstat in ns) is
 * read around each of the four batches. Several rounds; the first warms the JIT and is left out.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import type { Instance } from './bench.ts';
import { BenchError, encodeForm, formWith, HttpClient, Jar, type Reply } from './driver/http.ts';
import { UserPicker } from './driver/users.ts';
import { CODE_FIELD } from './driver/sign-in.ts';
import { userPassword } from './ldap.ts';
import { median, round } from './stats.ts';

export const STEP_NAMES = ['GET authorization (password page)', 'POST password + GET its redirect (TOTP page)', 'POST TOTP (redirect with code)', 'POST token (code exchange, id_token)'] as const;

export interface StepCost {
  request: (typeof STEP_NAMES)[number];
  /** Median over the measured rounds of the IdP CPU per request. */
  cpuMs: number;
  rounds: number[];
}

export interface StepsResult {
  flowsPerRound: number;
  concurrency: number;
  steps: StepCost[];
  totalCpuMs: number;
}

/** CPU time of every thread of `pid`, ns (schedstat's first field; finer than /proc/pid/stat's ticks). */
function cpuNsOf(pid: number): number {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return total;
}

export interface Flow {
  jar: Jar;
  state: string;
  verifier: string;
  user: number;
  reply?: Reply;
  code?: string;
  refreshToken?: string;
}

export type Work = (flow: Flow, http: HttpClient) => Promise<void>;

function expectStatus(reply: Reply, expected: (status: number) => boolean, step: string): void {
  if (!expected(reply.status)) throw new BenchError(step, `HTTP ${reply.status}: ${reply.body.replace(/\s+/g, ' ').slice(0, 200)}`);
}

/** The four requests of an OIDC code + PKCE sign-in with password and TOTP, as the load driver makes them. */
export function requests(instance: Instance, users: UserPicker): Work[] {
  const oidc = instance.setup.oidc!;
  const basic = Buffer.from(`${encodeURIComponent(oidc.clientId)}:${encodeURIComponent(oidc.clientSecret)}`).toString('base64');
  return [
    async (flow, http) => {
      const challenge = createHash('sha256').update(flow.verifier).digest('base64url');
      const params = new URLSearchParams({ client_id: oidc.clientId, redirect_uri: oidc.redirectUri, response_type: 'code', scope: oidc.scope, state: flow.state, nonce: flow.state, code_challenge: challenge, code_challenge_method: 'S256' });
      flow.reply = await http.send('GET', `${oidc.authorizationEndpoint}?${params}`, { jar: flow.jar });
      expectStatus(flow.reply, (status) => status === 200, STEP_NAMES[0]);
    },
    async (flow, http) => {
      const form = formWith(flow.reply!, 'password', 'password page');
      // Answered with a 303 to the sign-in's page (Post/Redirect/Get), which shows the TOTP step.
      flow.reply = await http.follow('POST', form.action, { jar: flow.jar, body: encodeForm({ ...form.fields, username: `user${flow.user}`, password: userPassword(flow.user) }) });
      expectStatus(flow.reply, (status) => status === 200, STEP_NAMES[1]);
    },
    async (flow, http) => {
      const form = formWith(flow.reply!, CODE_FIELD, 'totp page');
      // The step is claimed now, not when the flow began: on a slow host the batches before this one can outlast a code.
      const step = users.claimStep(flow.user);
      if (step === undefined) throw new BenchError(STEP_NAMES[2], `user${flow.user} has no unused TOTP step left`);
      flow.reply = await http.send('POST', form.action, { jar: flow.jar, body: encodeForm({ ...form.fields, [CODE_FIELD]: users.code(flow.user, step) }) });
      expectStatus(flow.reply, (status) => status >= 300 && status < 400, STEP_NAMES[2]);
      const location = flow.reply.headers.location ?? '';
      if (!location.startsWith(oidc.redirectUri)) throw new BenchError(STEP_NAMES[2], `redirected to ${location}, not the client's redirect URI: ${flow.reply.body.replace(/\s+/g, ' ').slice(0, 200)}`);
      const code = new URL(location).searchParams.get('code');
      if (!code) throw new BenchError(STEP_NAMES[2], `no code in ${flow.reply.headers.location}`);
      flow.code = code;
    },
    async (flow, http) => {
      const reply = await http.send('POST', oidc.tokenEndpoint, { body: encodeForm({ grant_type: 'authorization_code', code: flow.code!, redirect_uri: oidc.redirectUri, code_verifier: flow.verifier }), headers: { authorization: `Basic ${basic}`, accept: 'application/json' } });
      expectStatus(reply, (status) => status === 200, STEP_NAMES[3]);
      const tokens = JSON.parse(reply.body) as { id_token?: string; refresh_token?: string };
      if (!tokens.id_token) throw new BenchError(STEP_NAMES[3], 'no id_token');
      flow.refreshToken = tokens.refresh_token;
    },
  ];
}

export async function batch(flows: Flow[], clients: HttpClient[], work: Work): Promise<void> {
  let next = 0;
  await Promise.all(
    clients.map(async (http) => {
      while (next < flows.length) await work(flows[next++]!, http);
    }),
  );
}

export async function stepCosts(instance: Instance, options: { flows: number; rounds: number; concurrency: number }): Promise<StepsResult> {
  const { setup } = instance;
  const users = new UserPicker(setup);
  const work = requests(instance, users);
  const clients = Array.from({ length: options.concurrency }, () => new HttpClient(setup.idpUrl));
  const perRound: number[][] = STEP_NAMES.map(() => []);
  try {
    for (let round = 0; round < options.rounds; round++) {
      const flows: Flow[] = Array.from({ length: options.flows }, () => ({ jar: new Jar(), state: randomBytes(12).toString('base64url'), verifier: randomBytes(32).toString('base64url'), user: users.next() }));
      for (const [index, request] of work.entries()) {
        const before = cpuNsOf(instance.idp.pid);
        await batch(flows, clients, request);
        perRound[index]!.push((cpuNsOf(instance.idp.pid) - before) / 1e6 / options.flows);
      }
    }
  } finally {
    for (const client of clients) client.close();
  }
  const steps = STEP_NAMES.map((request, index) => {
    const rounds = perRound[index]!;
    const measured = rounds.length > 1 ? rounds.slice(1) : rounds;
    return { request, cpuMs: round(median(measured), 3), rounds: rounds.map((value) => round(value, 3)) };
  });
  return { flowsPerRound: options.flows, concurrency: options.concurrency, steps, totalCpuMs: round(steps.reduce((sum, step) => sum + step.cpuMs, 0), 3) };
}

export function stepsTable(result: StepsResult): string {
  const lines = [`  IdP CPU per request of an OIDC sign-in (${result.flowsPerRound} sign-ins per round in lock step, concurrency ${result.concurrency}; median of the rounds after the first):`];
  for (const step of result.steps) lines.push(`    ${step.request.padEnd(40)} ${step.cpuMs.toFixed(3).padStart(7)} ms   rounds: ${step.rounds.join(' ')}`);
  lines.push(`    ${'total'.padEnd(40)} ${result.totalCpuMs.toFixed(3).padStart(7)} ms`);
  return lines.join('\n');
}
