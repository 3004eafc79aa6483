import type { Server } from 'node:http';
import type { Services } from './services.ts';
import type { ServerLock } from './store/server-lock.ts';

/** How long a stop (SIGTERM, SIGINT) waits for requests under way before cutting them off. */
const DRAIN_MS = 10_000;
/**
 * How long the steps after the drain (closing the directory, the store, the lock) may take. One that
 * never ends (a write stuck on a hung disk or NFS mount) would keep the process until the service
 * manager's SIGKILL, with nothing in the log to say which step hung.
 */
const CLOSE_MS = 10_000;

export interface StopParts {
  server: Server;
  services: Pick<Services, 'logger' | 'adminLogouts' | 'directoryHealth' | 'directory' | 'store'>;
  serverLock: () => ServerLock | undefined;
  /** Writes the start-up makes after listening (the bootstrap secret): a stop waits for them, so it is stored and printed, or neither. */
  startupWrites: () => Promise<unknown>;
}

/** The server's one way to stop: drain, close what is open, release server.lock, exit. Called once; later calls do nothing. */
export function serverStop(parts: StopParts): (reason: string, exitCode?: number) => Promise<void> {
  const { server, services } = parts;
  const { logger } = services;
  let stopping = false;
  return async (reason, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'server.stopping', reason }, 'shutting down');
    let step = 'the start-up writes';
    const limitMs = DRAIN_MS + CLOSE_MS;
    setTimeout(() => {
      logger.fatal({ event: 'server.stop-stuck', step, limitMs }, `the stop did not finish within ${limitMs / 1000} s: ${step} never ended; ending the process without it (SIGKILL; a server.lock left behind is taken over at the next start)`);
      // Not process.exit: it waits for Node's thread pool, and a thread stuck in a write never returns.
      process.kill(process.pid, 'SIGKILL');
    }, limitMs);
    await parts.startupWrites().catch(() => undefined);
    step = 'the requests under way';
    // Requests under way are answered (a sign-in cut off mid-way looks like a failure to the user); idle connections close now.
    await new Promise<void>((resolve) => {
      const cutOff = setTimeout(() => {
        logger.warn({ event: 'server.drain-cut-off', drainMs: DRAIN_MS }, 'requests still under way at shutdown were cut off');
        server.closeAllConnections();
        resolve();
      }, DRAIN_MS);
      server.close(() => {
        clearTimeout(cutOff);
        resolve();
      });
      server.closeIdleConnections();
    });
    services.adminLogouts.stop();
    services.directoryHealth?.stop();
    step = 'closing the directory connections';
    await services.directory.close();
    step = 'closing the store (kv.journal, audit.log)';
    await services.store.close();
    step = 'releasing server.lock';
    await parts.serverLock()?.release();
    logger.info({ event: 'server.stopped', reason, exitCode }, 'stopped: requests answered, store closed, server.lock released');
    step = 'the exit (a file operation still under way)';
    process.exit(exitCode);
  };
}
