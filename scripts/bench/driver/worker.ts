/**
 * One load-driver thread: `job.loops` concurrent sign-in loops of one scenario, each with a fresh
 * cookie jar per sign-in. Counts and times only sign-ins that finish inside the measured window, and
 * those whose checks are deferred past the window (SAML) only once those checks passed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLocalJWKSet } from 'jose';
import { HttpClient } from './http.ts';
import { UserPicker } from './users.ts';
import { floorSignIn, oidcSignIn, refreshGrant, ssoReuse, type OidcContext } from './oidc.ts';
import { samlContext, samlSignIn } from './saml.ts';
import type { DriverSetup, PhaseClock, PhaseJob, PhaseResult, RefreshToken, SignInOutcome, SignInRecord, WorkerMessage } from './protocol.ts';

const { setup, job } = workerData as { setup: DriverSetup; job: PhaseJob };
const post = (message: WorkerMessage) => parentPort!.postMessage(message);

type Iteration = (loop: number, round: number) => Promise<SignInOutcome | void>;

/** A sign-in that got its answer: where it finished, how long it took, and what it returns. */
interface Finished {
  outcome: SignInOutcome | void;
  inWindow: boolean;
  latencyMs: number;
}

const deferred: Array<Finished & { verify: () => void }> = [];

function iteration(http: HttpClient, result: PhaseResult): Iteration {
  const users = new UserPicker(setup);
  const oidc = (): OidcContext => {
    if (!setup.oidc) throw new Error('the IdP has no OIDC client for the bench');
    return { http, setup: setup.oidc, users, mfaAcr: setup.mfaAcr, jwks: createLocalJWKSet(setup.oidc.jwks as never) };
  };
  switch (job.scenario) {
    case 'oidc':
    case 'minimal-oidc': {
      const ctx = oidc();
      return () => oidcSignIn(ctx);
    }
    case 'saml': {
      const ctx = samlContext(http, setup, users);
      return () => samlSignIn(ctx);
    }
    case 'sso': {
      const ctx = oidc();
      const sessions = job.sessions ?? [];
      if (sessions.length === 0) throw new Error('no pre-existing sessions for this worker');
      return (loop, round) => ssoReuse(ctx, sessions[(round * job.loops + loop) % sessions.length]!);
    }
    case 'floor-oidc': {
      const ctx = oidc();
      return () => floorSignIn(ctx);
    }
    case 'refresh':
    case 'floor-refresh':
    case 'minimal-refresh': {
      const ctx = oidc();
      const tokens: RefreshToken[] = job.refreshTokens ?? [];
      result.refreshTokens = tokens;
      if (tokens.length < job.loops) throw new Error(`${tokens.length} refresh tokens for ${job.loops} loops: run the OIDC scenario first`);
      // loop i owns tokens i, i+loops, ...: a rotated token is never used by two loops at once
      const owned = Math.floor(tokens.length / job.loops);
      return async (loop, round) => {
        const index = loop + (round % owned) * job.loops;
        const token = tokens[index]!;
        tokens[index] = { value: await refreshGrant(ctx, token), user: token.user };
      };
    }
  }
}

let kept = 0;

/** A ring of the newest records: the durability check wants the sign-ins finished last. */
function keep(result: PhaseResult, record: SignInRecord): void {
  if (job.recordLimit <= 0) return;
  result.records[kept++ % job.recordLimit] = record;
}

/** Counts a sign-in whose checks all passed. */
function count(result: PhaseResult, { outcome, inWindow, latencyMs }: Finished): void {
  if (inWindow) {
    result.completed++;
    result.latencies.push(latencyMs);
  } else result.outside++;
  if (outcome) keep(result, outcome.record);
}

function failed(result: PhaseResult, error: unknown, measured: boolean): void {
  if (measured) result.errors++;
  else result.warmupErrors++;
  const message = error instanceof Error ? error.message : String(error);
  if (result.errorSamples.length < 5 && !result.errorSamples.includes(message)) result.errorSamples.push(message);
}

async function runLoop(run: Iteration, loop: number, result: PhaseResult, go: PhaseClock): Promise<void> {
  for (let round = 0; Date.now() < go.measureEnd; round++) {
    const started = performance.now();
    try {
      const outcome = await run(loop, round);
      const finished = Date.now();
      const done = { outcome, inWindow: finished >= go.measureStart && finished <= go.measureEnd, latencyMs: performance.now() - started };
      if (outcome?.verify) deferred.push({ ...done, verify: outcome.verify });
      else count(result, done);
    } catch (error) {
      failed(result, error, Date.now() >= go.measureStart);
    }
  }
}

/** The checks kept for after the window: a sign-in counts (rate, latency, record) only once they pass. */
function verifyDeferred(result: PhaseResult): void {
  for (const done of deferred) {
    try {
      done.verify();
      count(result, done);
    } catch (error) {
      failed(result, error, done.inWindow);
    }
  }
}

async function main(): Promise<void> {
  const result: PhaseResult = { completed: 0, latencies: [], errors: 0, warmupErrors: 0, outside: 0, errorSamples: [], records: [] };
  const http = new HttpClient(setup.idpUrl);
  const run = iteration(http, result);
  const go = await new Promise<PhaseClock>((resolve) => {
    parentPort!.once('message', resolve);
    post({ type: 'ready' });
  });
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, go.startAt - Date.now())));
  await Promise.all(Array.from({ length: job.loops }, (_, loop) => runLoop(run, loop, result, go)));
  http.close();
  verifyDeferred(result);
  post({ type: 'done', result });
}

main().catch((error: unknown) => post({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) }));
