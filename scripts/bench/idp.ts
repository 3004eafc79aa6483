/**
 * Runs Stepgate as the bench's child process: `node src/main.ts` with a generated config file, exactly
 * as an admin starts it, so its CPU and memory are measured apart from the load driver.
 */
import { writeFile } from 'node:fs/promises';
import type { ConfigInput } from '../../src/config/schema.ts';
import { startServer, type ServerHandle } from './child.ts';

export interface IdpOptions {
  dataDir: string;
  /** Where the config file goes (the run's temp dir). */
  configPath: string;
  port: number;
  secretKey: string;
  directory: NonNullable<ConfigInput['directory']>;
  logLevel: string;
  /** Directory for `--cpu-prof` output; no profiling when absent. */
  cpuProfileDir?: string;
}

export type IdpHandle = ServerHandle;

export function idpConfig(options: IdpOptions): ConfigInput {
  return {
    server: { host: '127.0.0.1', port: options.port, publicUrl: `http://localhost:${options.port}` },
    dataDir: options.dataDir,
    secretKey: options.secretKey,
    directory: options.directory,
    log: { level: options.logLevel as 'warn' },
    // Every simulated user comes from 127.0.0.1: the per-IP bound on starting sign-ins would throttle the load itself.
    regulation: { signInStartsPerIpPerMinute: 1_000_000 },
  };
}

export async function startIdp(options: IdpOptions): Promise<IdpHandle> {
  await writeFile(options.configPath, JSON.stringify(idpConfig(options), null, 2));
  return startServer({
    name: 'the IdP',
    script: 'src/main.ts',
    extraFlags: options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [],
    env: { STEPGATE_CONFIG: options.configPath, LOG_LEVEL: options.logLevel, NODE_ENV: 'production' },
    readyText: 'Stepgate is running',
    url: `http://localhost:${options.port}`,
  });
}
