import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { buildServices } from '../../src/build-services.ts';
import { createApp } from '../../src/app.ts';
import { createLogger } from '../../src/core/log.ts';
import type { Services } from '../../src/services.ts';
import type { Clock } from '../../src/core/clock.ts';
import type { LoginResult } from '../../src/core/types.ts';

/** The finisher name a test's hand-made LoginRequest uses (see Booted.finished). */
export const TEST_FINISHER = 'test';

export interface Booted {
  /** http://localhost:PORT (https:// with `tls`) — the public URL (localhost, so WebAuthn and cookies behave as in production). */
  url: string;
  port: number;
  services: Services;
  /** The Express application serving `url`. */
  app: Express;
  dataDir: string;
  /** Every structured log line written so far. */
  logs: Array<Record<string, unknown>>;
  /**
   * Results of sign-ins whose LoginRequest names the TEST_FINISHER, by transaction id; that finisher
   * answers with a redirect to /resume?tx=<id>.
   */
  finished: Map<string, LoginResult>;
  close(): Promise<void>;
}

/** Starts Stepgate on a free loopback port with a temp data directory; `close()` stops it and removes the directory. */
/** `tls`: served over https with this certificate (for localhost), the public URL https:// too. */
export async function boot(overrides: ConfigInput = {}, options: { clock?: Clock; dataDir?: string; secretKey?: string; port?: number; tls?: { cert: Buffer; key: Buffer } } = {}): Promise<Booted> {
  const server: Server = options.tls ? createHttpsServer(options.tls) : createServer();
  const scheme = options.tls ? 'https' : 'http';
  // A given port: the same IdP (URLs, entityID, issuer) started again, e.g. on its data directory after a restart.
  // A given port may have been taken meanwhile (EADDRINUSE): that is an error here, not a listen that never calls back.
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.port ?? 0, '127.0.0.1', () => (server.off('error', reject), resolve())));
  const port = (server.address() as { port: number }).port;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'stepgate-test-')));
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line));
      callback();
    },
  });
  const config = parseConfig({
    ...overrides,
    server: { ...(overrides.server ?? {}), host: '127.0.0.1', port, publicUrl: `${scheme}://localhost:${port}` },
    dataDir,
    secretKey: options.secretKey ?? randomBytes(32).toString('base64'),
    log: { level: 'debug' },
  });
  // A start that fails (a wrong key, a damaged data directory) must not leave the listening socket open.
  const services = await buildServices(config, { logger: createLogger('debug', sink), clock: options.clock }).catch(async (error: unknown) => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  });
  const app = await createApp(services);
  const finished = new Map<string, LoginResult>();
  services.interaction.registerFinisher(TEST_FINISHER, async (_req, res, { txId, result }) => {
    finished.set(txId, result);
    res.redirect(303, `/resume?tx=${encodeURIComponent(txId)}`);
  });
  server.on('request', app);
  return {
    url: `${scheme}://localhost:${port}`,
    port,
    services,
    app,
    dataDir,
    logs,
    finished,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      services.adminLogouts.stop();
      services.directoryHealth?.stop();
      await services.directory.close();
      await services.store.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
