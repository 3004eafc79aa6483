/**
 * The two floors, measured in the same run right after Stepgate's phases, driven and measured exactly
 * like them (same driver, scenarios, ID Token algorithm, concurrency, /proc CPU sampling):
 * - the library floor: oidc-provider alone (scripts/bench/floor-provider.ts). Stepgate's CPU per
 *   sign-in minus this is what Stepgate itself adds (directory, MFA, pages, policy, store, audit);
 *   what this costs, no IdP built on oidc-provider saves on this machine.
 * - the machine floor: the minimal server (scripts/bench/minimal-idp.ts), the same sign-in
 *   with nothing but the unavoidable work. The targets were set against its cost on the
 *   issue's machine; this is its cost on the machine at hand.
 */
import { mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort } from '../free-port.ts';
import { refreshTokensOf, type Bench } from './bench.ts';
import { discoverOidc } from './discovery.ts';
import { BASE_DN } from './ldap.ts';
import { CLIENT_REDIRECT_URI } from './seed.ts';
import { ACR } from '../../src/policy/levels.ts';
import type { FloorProviderConfig } from './floor-provider.ts';
import type { MinimalIdpConfig } from './minimal-idp.ts';
import type { PhaseScenario } from './driver/protocol.ts';
import { partsCpuMs, partsOf, toRow, type PhaseRow } from './report.ts';
import type { MachineLimits } from './limits.ts';
import type { IdTokenAlg } from './options.ts';

interface Reference {
  name: string;
  script: string;
  /** The server's configuration, as the environment variable it reads. */
  env: (port: number, client: { id: string; secret: string; idTokenAlg: IdTokenAlg; redirectUri: string }) => Record<string, string>;
  readyText: string;
  /** A sign-in (whose refresh tokens the second phase uses), then a refresh grant. */
  scenarios: [PhaseScenario, PhaseScenario];
}

async function referencePhases(bench: Bench, limits: MachineLimits, concurrency: number, reference: Reference): Promise<PhaseRow[]> {
  const { options } = bench;
  const port = await freePort();
  const client = { id: 'bench-reference', secret: randomBytes(24).toString('base64url'), idTokenAlg: options.idTokenAlg, redirectUri: CLIENT_REDIRECT_URI };
  const dataDir = join(bench.tmp, reference.scenarios[0]); // stays empty: the references keep everything in memory
  await mkdir(dataDir, { recursive: true });
  const url = `http://localhost:${port}`;
  const server = await bench.startServer({ name: reference.name, script: reference.script, env: { ...reference.env(port, client), NODE_ENV: 'production' }, readyText: reference.readyText, url });
  try {
    const target = { setup: bench.driverSetup(url, await discoverOidc(url, client)), pid: server.pid, dataDir };
    const shape = { saml: { signatures: 0, signedRequests: false }, idTokenAlg: options.idTokenAlg };
    const [signInScenario, refreshScenario] = reference.scenarios;
    const signIns = await bench.phaseOn(target, signInScenario, concurrency, { recordLimit: 4000 });
    const refreshes = await bench.phaseOn(target, refreshScenario, concurrency, { refreshTokens: refreshTokensOf(signIns.records) });
    return [signIns, refreshes].map((outcome) => toRow(outcome, partsCpuMs(partsOf(outcome.scenario, shape), limits), 0));
  } finally {
    await bench.stopServer(server);
  }
}

/** oidc-provider alone: its sign-in is the `login_hint` user signed in at once (no password, no code). */
export function libraryFloor(bench: Bench, limits: MachineLimits, concurrency: number): Promise<PhaseRow[]> {
  return referencePhases(bench, limits, concurrency, {
    name: 'the floor provider',
    script: 'scripts/bench/floor-provider.ts',
    env: (port, client) => ({ FLOOR_PROVIDER: JSON.stringify({ port, client } satisfies FloorProviderConfig) }),
    readyText: 'floor provider ready',
    scenarios: ['floor-oidc', 'floor-refresh'],
  });
}

/** The minimal server: the same password + TOTP sign-in against the bench's slapd, as Stepgate's scenario (a). */
export function machineFloor(bench: Bench, limits: MachineLimits, concurrency: number): Promise<PhaseRow[]> {
  const { slapd } = bench;
  return referencePhases(bench, limits, concurrency, {
    name: 'the minimal server',
    script: 'scripts/bench/minimal-idp.ts',
    env: (port, client) => ({
      MINIMAL_IDP: JSON.stringify({
        port,
        ldap: { url: slapd.url, bindDn: slapd.serviceDn, password: slapd.servicePassword, usersBaseDn: `ou=people,${BASE_DN}` },
        totpSeed: bench.totpSeed,
        client,
        mfaAcr: ACR.mfa,
      } satisfies MinimalIdpConfig),
    }),
    readyText: 'minimal idp ready',
    scenarios: ['minimal-oidc', 'minimal-refresh'],
  });
}
