/**
 * The library floor, measured in the same run: the bench's OIDC code flow and refresh grant against
 * oidc-provider alone (scripts/bench/floor-provider.ts), driven and measured exactly like Stepgate's
 * phases. Stepgate's CPU per sign-in minus this is what Stepgate itself adds (directory, MFA, pages,
 * policy, store, audit); what this costs, no IdP built on oidc-provider saves on this machine.
 */
import { mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort } from '../slapd.ts';
import { refreshTokensOf, type Bench } from './bench.ts';
import { discoverOidc } from './discovery.ts';
import { CLIENT_REDIRECT_URI } from './seed.ts';
import type { FloorProviderConfig } from './floor-provider.ts';
import { partsCpuMs, partsOf, toRow, type PhaseRow } from './report.ts';
import type { MachineLimits } from './limits.ts';

export async function libraryFloor(bench: Bench, limits: MachineLimits, concurrency: number): Promise<PhaseRow[]> {
  const { options } = bench;
  const port = await freePort();
  const client = { id: 'bench-floor', secret: randomBytes(24).toString('base64url'), idTokenAlg: options.idTokenAlg };
  const config: FloorProviderConfig = { port, client: { ...client, redirectUri: CLIENT_REDIRECT_URI } };
  const dataDir = join(bench.tmp, 'floor'); // stays empty: the floor keeps everything in memory
  await mkdir(dataDir, { recursive: true });
  const url = `http://localhost:${port}`;
  const server = await bench.startServer({ name: 'the floor provider', script: 'scripts/bench/floor-provider.ts', env: { FLOOR_PROVIDER: JSON.stringify(config), NODE_ENV: 'production' }, readyText: 'floor provider ready', url });
  try {
    const target = { setup: bench.driverSetup(url, await discoverOidc(url, client)), pid: server.pid, dataDir };
    const shape = { saml: { signatures: 0, signedRequests: false }, idTokenAlg: options.idTokenAlg };
    const signIns = await bench.phaseOn(target, 'floor-oidc', concurrency, { recordLimit: 4000 });
    const refreshes = await bench.phaseOn(target, 'floor-refresh', concurrency, { refreshTokens: refreshTokensOf(signIns.records) });
    return [signIns, refreshes].map((outcome) => toRow(outcome, partsCpuMs(partsOf(outcome.scenario, shape), limits), 0));
  } finally {
    await bench.stopServer(server);
  }
}
