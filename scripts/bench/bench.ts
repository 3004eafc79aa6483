/**
 * The state one bench run shares: the directory, the keys and TOTP seed every IdP instance is seeded
 * with, the driver's shared TOTP-step bookkeeping, and the IdP instances it started (to stop them).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import type { User } from '../../src/core/types.ts';
import { ACR } from '../../src/policy/levels.ts';
import { freePort } from '../free-port.ts';
import type { SlapdHandle } from '../slapd.ts';
import type { BenchOptions } from './options.ts';
import { directoryConfig, LdapOpCounter } from './ldap.ts';
import { seed, type SeedResult } from './seed.ts';
import { startIdp, idpConfig, type IdpHandle } from './idp.ts';
import { discoverOidc, discoverSaml } from './discovery.ts';
import { runPhase, type PhaseOptions, type PhaseOutcome } from './driver/pool.ts';
import { subjectBuffer } from './driver/subjects.ts';
import type { DriverSetup, OidcSetup, PhaseScenario, RefreshToken, SamlSetup, ScenarioName, SignInRecord } from './driver/protocol.ts';
import { rssKbOf } from './proc.ts';
import { startServer, type ServerHandle, type ServerSpec } from './child.ts';
import { round } from './stats.ts';

export const say = (text = '') => void process.stdout.write(text + '\n');

/** One running IdP with its data directory and what the relying parties learned from it. */
export interface Instance {
  name: string;
  config: Config;
  seeded: SeedResult;
  idp: IdpHandle;
  setup: DriverSetup;
  port: number;
  dataDir: string;
  /** RSS right after start, before any sign-in (with the seeded sessions loaded). */
  idleRssMb: number;
}

export class Bench {
  readonly options: BenchOptions;
  readonly tmp: string;
  readonly slapd: SlapdHandle;
  readonly secretKey = randomBytes(32).toString('base64');
  readonly totpSeed = randomBytes(8).toString('hex');
  readonly #stepBuffer: SharedArrayBuffer;
  readonly #cursorBuffer = new SharedArrayBuffer(4);
  readonly #subjectBuffer: SharedArrayBuffer;
  readonly #running = new Set<ServerHandle>();
  readonly #ldapOps: LdapOpCounter;
  /** Directory profiles, looked up once and reused by every seed. */
  #profiles: User[] | undefined;

  constructor(options: BenchOptions, tmp: string, slapd: SlapdHandle) {
    this.options = options;
    this.tmp = tmp;
    this.slapd = slapd;
    this.#stepBuffer = new SharedArrayBuffer(4 * options.users);
    this.#subjectBuffer = subjectBuffer(options.users);
    this.#ldapOps = new LdapOpCounter(slapd);
  }

  /**
   * Seeds a fresh data directory with `sessions` sessions and starts an IdP on it; with `restart`,
   * starts the IdP again on that instance's data (and port), optionally under the CPU profiler.
   */
  async start(name: string, sessions: number, restart?: Instance, cpuProfileDir?: string): Promise<Instance> {
    const port = restart?.port ?? (await freePort());
    const dataDir = restart?.dataDir ?? join(this.tmp, name);
    const idpOptions = { dataDir, configPath: join(this.tmp, `${name}.config.json`), port, secretKey: this.secretKey, directory: directoryConfig(this.slapd), logLevel: this.options.logLevel, cpuProfileDir };
    const config = parseConfig(idpConfig(idpOptions));
    let seeded = restart?.seeded;
    if (!seeded) {
      await mkdir(dataDir, { recursive: true });
      const start = performance.now();
      seeded = await seed({ config, secretKey: this.secretKey, users: this.options.users, sessions, totpSeed: this.totpSeed, workDir: this.tmp, profiles: this.#profiles, idTokenAlg: this.options.idTokenAlg });
      this.#profiles = seeded.profiles;
      say(`  seeded ${name}: ${this.options.users} TOTP enrollments, ${sessions} SSO sessions, 1 SAML SP, 1 OIDC client (${this.options.idTokenAlg} ID Tokens) in ${Math.round(performance.now() - start)} ms ${JSON.stringify(seeded.timings)}`);
    }
    const start = performance.now();
    const idp = await startIdp(idpOptions);
    this.#running.add(idp);
    const idleRssMb = round(rssKbOf(idp.pid) / 1024, 1);
    say(`  IdP ${name} started (pid ${idp.pid}) in ${Math.round(performance.now() - start)} ms, idle RSS ${idleRssMb} MB`);
    const setup = this.driverSetup(idp.url, await discoverOidc(idp.url, seeded.client), await discoverSaml(idp.url, seeded));
    return { name, config, seeded, idp, setup, port, dataDir, idleRssMb };
  }

  /**
   * Starts and stops an IdP on an empty data directory with the run's LDAP directory, so that every
   * IdP measured after it finds all its modules (the LDAP ones too) in the compile cache and runs
   * without Node's TypeScript parser, as an admin's server does from its second start on, whether or
   * not this checkout has started a server before.
   */
  async primeCompileCache(): Promise<void> {
    const dataDir = join(this.tmp, 'compile-cache-prime');
    await mkdir(dataDir, { recursive: true });
    const idp = await startIdp({ dataDir, configPath: join(this.tmp, 'compile-cache-prime.config.json'), port: await freePort(), secretKey: this.secretKey, directory: directoryConfig(this.slapd), logLevel: this.options.logLevel });
    this.#running.add(idp);
    await this.stopServer(idp);
  }

  /** What the driver workers need to sign in to the server at `url`; the TOTP bookkeeping is shared by every server of the run. */
  driverSetup(url: string, oidc: OidcSetup, saml?: SamlSetup): DriverSetup {
    return { idpUrl: url, users: this.options.users, totpSeed: this.totpSeed, stepBuffer: this.#stepBuffer, cursorBuffer: this.#cursorBuffer, subjectBuffer: this.#subjectBuffer, mfaAcr: ACR.mfa, oidc, saml };
  }

  async stop(instance: Instance): Promise<void> {
    await this.stopServer(instance.idp);
  }

  /** Starts a server that `killAll` ends if the run fails. */
  async startServer(spec: ServerSpec): Promise<ServerHandle> {
    const server = await startServer(spec);
    this.#running.add(server);
    return server;
  }

  async stopServer(server: ServerHandle): Promise<void> {
    await server.stop();
    this.#running.delete(server);
  }

  /** kill -9 of every server still running (the run failed or was interrupted). */
  async killAll(): Promise<void> {
    for (const idp of this.#running) await idp.kill().catch(() => undefined);
    this.#running.clear();
    await this.#ldapOps.close();
  }

  phase(instance: Instance, scenario: ScenarioName, concurrency: number, extra: Partial<PhaseOptions> = {}): Promise<PhaseOutcome> {
    return this.phaseOn({ setup: instance.setup, pid: instance.idp.pid, dataDir: instance.dataDir }, scenario, concurrency, extra);
  }

  /** A phase against any server of the run (a Stepgate instance or the library floor's provider). */
  phaseOn(server: { setup: DriverSetup; pid: number; dataDir: string }, scenario: PhaseScenario, concurrency: number, extra: Partial<PhaseOptions> = {}): Promise<PhaseOutcome> {
    return runPhase(server.setup, {
      scenario,
      concurrency,
      workers: this.options.workers,
      warmupMs: this.options.warmup * 1000,
      durationMs: this.options.duration * 1000,
      idpPid: server.pid,
      slapdPid: this.slapd.pid,
      dataDir: server.dataDir,
      ldapOps: this.#ldapOps,
      ...extra,
    });
  }
}

export function refreshTokensOf(records: SignInRecord[]): RefreshToken[] {
  return records.filter((record) => record.refreshToken).map((record) => ({ value: record.refreshToken!, user: record.user }));
}
