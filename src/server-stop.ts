import type { Server, ServerResponse } from 'node:http';
import { writeSync } from 'node:fs';
import type { Services } from './services.ts';
import type { ServerLock } from './store/server-lock.ts';
import { OVER_LIMIT, withinLimit } from './core/time-limit.ts';

/** How long a stop (SIGTERM, SIGINT) waits for requests under way before cutting them off. */
const DRAIN_MS = 10_000;
/**
 * How long the directory may take to close: it waits for connection attempts under way, each up to
 * directory.connectTimeoutMs. A stop does not need them, and waiting would leave the store unclosed.
 */
const DIRECTORY_CLOSE_MS = 3_000;
/**
 * How long the steps after the drain (closing the directory, the store, the lock) may take in all. One
 * that never ends (a write stuck on a hung disk or NFS mount) would keep the process until the service
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

/**
 * The last line of a stop that hung, written at once to stdout, where the log goes: the logger writes
 * through Node's thread pool, which a stuck write may hold, and the process ends right after this.
 */
function writeStuckLine(step: string, limitMs: number): void {
  const line = {
    level: 60,
    time: Date.now(),
    service: 'stepgate',
    event: 'server.stop-stuck',
    step,
    limitMs,
    msg: `the stop did not finish within ${limitMs / 1000} s of the drain: ${step} never ended; ending the process without it (SIGKILL; a server.lock left behind is taken over at the next start)`,
  };
  try {
    writeSync(1, JSON.stringify(line) + '\n');
  } catch {
    // stdout gone (a closed pipe): nothing left to tell
  }
}

/** The server's one way to stop: drain, close what is open, release server.lock, exit. Called once; later calls do nothing. */
export function serverStop(parts: StopParts): (reason: string, exitCode?: number) => Promise<void> {
  const { server, services } = parts;
  const { logger } = services;
  let stopping = false;
  // A connection whose request was under way at the stop was kept open after its answer (keep-alive):
  // the drain waited for the client to close it (Node's keepAliveTimeout, 5 s), or, as long as the
  // client sent its next request within that (a browser fetching the page's stylesheet, an RP's pooled
  // back-channel connection), served it and waited on, until the 10 s cut-off.
  // Answered with "Connection: close" instead, Node closes the connection once the answer is out. (An
  // answer whose head was already sent keeps its keep-alive: the client's close or keepAliveTimeout ends it.)
  const underWay = new Set<ServerResponse>();
  // One listener for every response ('close' comes once, with the response as `this`): a closure and a
  // once() wrapper per response cost 6 k instructions a request under callgrind, this 1.4 k.
  function answered(this: ServerResponse): void {
    underWay.delete(this);
  }
  let draining = false;
  // Ahead of the application's listener, which may answer before a listener after it runs.
  server.prependListener('request', (_req, res: ServerResponse) => {
    // A request whose head was still arriving when the drain began: its connection was not idle, so it stayed open.
    if (draining) res.shouldKeepAlive = false;
    underWay.add(res);
    res.on('close', answered);
  });
  return async (reason, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'server.stopping', reason }, 'shutting down');
    // Bounded too: a start-up write stuck on a hung disk must not keep the stop from its own time limit.
    await withinLimit(parts.startupWrites().catch(() => undefined), CLOSE_MS);
    // Requests under way are answered (a sign-in cut off mid-way looks like a failure to the user); idle connections close now.
    draining = true;
    for (const res of underWay) if (!res.headersSent) res.shouldKeepAlive = false;
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
    let step = 'closing the directory connections';
    setTimeout(() => {
      writeStuckLine(step, CLOSE_MS);
      // Not process.exit: it waits for Node's thread pool, and a thread stuck in a write never returns.
      process.kill(process.pid, 'SIGKILL');
    }, CLOSE_MS);
    services.adminLogouts.stop();
    services.directoryHealth?.stop();
    if ((await withinLimit(services.directory.close(), DIRECTORY_CLOSE_MS)) === OVER_LIMIT) {
      logger.warn({ event: 'server.directory-close-slow', limitMs: DIRECTORY_CLOSE_MS }, 'directory connections still being opened at the stop were left behind');
    }
    step = 'closing the store (kv.journal, audit.log)';
    await services.store.close();
    step = 'releasing server.lock';
    await parts.serverLock()?.release();
    logger.info({ event: 'server.stopped', reason, exitCode }, 'stopped: requests answered, store closed, server.lock released');
    step = 'the exit (a file operation still under way)';
    process.exit(exitCode);
  };
}
