import { flushCompileCache } from 'node:module';
import { isIP } from 'node:net';
import { loadConfig, ConfigError } from './config/load.ts';
import { buildServices } from './build-services.ts';
import { createApp } from './app.ts';
import { createHttpServer } from './http/http-server.ts';
import { bootstrapStillOpen, mintBootstrapSecretIfNeeded } from './admin/bootstrap.ts';
import { idpEndpoints } from './saml/idp-identity.ts';
import { holdServerLock, type ServerLock } from './store/server-lock.ts';
import { recordPublicIdentity, serverStartedBefore } from './config/public-identity.ts';
import { warnOfExpiringCertificates } from './keys/certificate-expiry.ts';
import { warnOfRemovedKeysPublished } from './keys/removed-key-published.ts';
import { warnOfKeysGeneratedOnUsedData } from './keys/keys-generated-on-used-data.ts';
import { warnIfProxyUntrusted } from './config/proxy-trust.ts';
import { warnIfPlainHttp } from './config/plain-http-warning.ts';
import { warnOfContradictoryDurations } from './config/duration-warnings.ts';
import { DirectoryMisconfiguredError } from './directory/directory.ts';
import { serverStop } from './server-stop.ts';
import { createLogger, type Logger } from './core/log.ts';

/** How often the server checks it still holds server.lock (one small file read). */
const LOCK_CHECK_MS = 5_000;

/** Held from before the store opens to the end: a second server on the data directory would lose sign-ins at the first compaction. */
let serverLock: ServerLock | undefined;

/**
 * The first stop signal (SIGTERM, SIGINT). Handled from the start: one that came before the handlers
 * (while the lock was taken, the store opened, the directory checked) ended the process at once and
 * left server.lock behind. Once it is set, the start-up takes no further step.
 */
let stopSignal: NodeJS.Signals | undefined;
/** The server's stop, once there is a store to close; a signal before that is acted on as soon as it is there. */
let stop: ((reason: string) => Promise<void>) | undefined;
/** Where a repeated stop signal is reported, once there is a logger. */
let stopLogger: Logger | undefined;

function onStopSignal(signal: NodeJS.Signals): void {
  if (stopSignal) {
    // Not the default action: a second signal (npm forwards Ctrl+C's SIGINT to a server that got it
    // from the terminal too) killed the server mid-close and left server.lock behind. The stop is
    // bounded on its own (serverStop); SIGKILL is there for whoever will not wait.
    stopLogger?.warn({ event: 'server.stop-signal-repeated', signal, stopping: stopSignal }, 'already stopping: the stop ends by itself (up to 10 s for requests under way, then the store is closed and server.lock released); SIGKILL ends the process at once, and the next start takes over the server.lock it leaves');
    return;
  }
  stopSignal = signal;
  void stop?.(signal);
}

/**
 * logrotate's postrotate (`kill -HUP <pid from server.lock>`) may come while the server is still
 * starting: without a handler from the start, SIGHUP's default action ended the process, which
 * systemd counts as a clean exit and does not restart. Before the store is open there is no file
 * to reopen; one opened meanwhile may be the rotated one, so the reopen is made once it is there.
 */
let reopenLogs: (() => void) | undefined;
let hangupBeforeStore = false;

function onHangup(): void {
  if (reopenLogs) reopenLogs();
  else hangupBeforeStore = true;
}

async function main(): Promise<void> {
  process.on('SIGINT', onStopSignal);
  process.on('SIGTERM', onStopSignal);
  process.on('SIGHUP', onHangup);
  const config = loadConfig();
  const logger = createLogger(config.log.level);
  stopLogger = logger;
  serverLock = await holdServerLock(config.dataDir);
  if (stopSignal) {
    await serverLock.release();
    logger.info({ event: 'server.stopped', reason: stopSignal, exitCode: 0 }, 'stopped during start-up, before the store was opened: server.lock released');
    process.exit(0);
  }
  const buildingSince = Date.now();
  const services = await buildServices(config, { logger });
  // logrotate's postrotate: `kill -HUP <pid>`; audit.log is then a new file, the rotated one keeps every earlier line.
  reopenLogs = () => {
    services.store.reopenLogs().then(
      () => logger.info({ event: 'store.logs-reopened' }, 'audit log reopened after rotation'),
      (error) => logger.error({ event: 'store.logs-reopen-failed', err: error }, 'audit log could not be reopened; events go on to the rotated file'),
    );
  };
  if (hangupBeforeStore) reopenLogs();
  const server = createHttpServer(logger);
  // The start-up step under way that writes to the store: a stop waits for it (bounded), so the
  // store is not closed under it, and the one-time bootstrap secret is stored and printed, or neither.
  let startupWrites: Promise<unknown> = Promise.resolve();
  const shutdown = serverStop({ server, services, serverLock: () => serverLock, startupWrites: () => startupWrites });
  stop = shutdown;
  if (stopSignal) return void shutdown(stopSignal);
  warnIfProxyUntrusted(config, logger);
  warnIfPlainHttp(config, logger);
  warnOfContradictoryDurations(config, logger);
  if (services.secretKeyGeneratedAt) logger.warn({ event: 'secret-key.generated', file: services.secretKeyGeneratedAt }, 'generated a new key for secrets at rest; back it up with the data directory');
  await warnOfExpiringCertificates(services.keys, logger, services.clock.now());
  await warnOfKeysGeneratedOnUsedData(services.keys, logger, buildingSince, await serverStartedBefore(services.store));
  startupWrites = warnOfRemovedKeysPublished(services.keys, services.store, logger);
  await startupWrites;
  if (stopSignal) return;
  // Not waited for by a stop: the stop closes the directory connections, which ends it.
  await services.directory.startupCheck().catch((error) => {
    if (stopSignal) return;
    // A base DN that does not exist is a setting to correct, not a directory to wait for.
    logger.error({ event: 'directory.startup-check-failed', err: error }, error instanceof DirectoryMisconfiguredError ? 'directory start-up check failed: the configuration does not fit the directory; sign-ins will fail until it is corrected' : 'directory start-up check failed; sign-ins will fail until it is reachable');
  });
  if (stopSignal) return;
  const building = createApp(services);
  startupWrites = building;
  const app = await building;
  if (stopSignal) return;
  server.on('request', app);
  server.listen(config.server.port, config.server.host);
  await new Promise<void>((resolve, reject) =>
    server.once('listening', resolve).once('error', (error: NodeJS.ErrnoException) => {
      // Node's message names the address but not where it came from.
      reject(new Error(`cannot listen on ${config.server.host}:${config.server.port} (server.host / HOST, server.port / PORT): ${error.message}`));
    }),
  );
  if (stopSignal) return;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  const base = config.server.publicUrl;
  const writes = Promise.all([recordPublicIdentity(services.store, config, logger, services.clock), mintBootstrapSecretIfNeeded(services.store, services.clock.now())]);
  startupWrites = writes;
  const [, bootstrap] = await writes;
  // An IPv6 address takes brackets in a URL: http://::1:8080 is no address anyone can open.
  const listenHost = isIP(config.server.host) === 6 ? `[${config.server.host}]` : config.server.host;
  const lines = [
    `Stepgate is running on http://${listenHost}:${port}`,
    `  Public URL:          ${base}`,
    `  SAML metadata:       ${idpEndpoints(config).metadata}`,
    `  OIDC discovery:      ${base}/.well-known/openid-configuration`,
    `  Directory:           ${config.directory.kind}   Data: ${config.dataDir}`,
  ];
  if (bootstrap) lines.push('', `  One-time admin bootstrap secret: ${bootstrap}`, `  Create the first administrator at ${base}/admin/bootstrap (shown only this once).`);
  // A later start does not show the secret again; an administrator who missed the first start's
  // lines is told the bootstrap is still open and how to get a secret for it.
  else if (await bootstrapStillOpen(services.store)) lines.push('', `  No administrator yet: create one at ${base}/admin/bootstrap with the secret printed at the first start,`, '  or print a new one with: npm run cli -- admin bootstrap-secret');
  // Node writes the compile cache (NODE_COMPILE_CACHE, set by `npm start`) only at a clean exit: a
  // server ended by kill -9 or a crash would leave the next start to strip every module again, and
  // so to keep Node's TypeScript parser (about 20 MB) for its whole run. Written before the ready
  // lines, so a server seen ready has written it. Nothing when the cache is not enabled.
  flushCompileCache();
  process.stdout.write(lines.join('\n') + '\n');
  logger.info({ event: 'server.started', port, publicUrl: base }, 'listening');

  // The lock removed or replaced by hand (its message says when that is safe) lets a second server
  // start on this data directory: this one stops rather than lose sign-ins beside it.
  // A check that cannot tell (an I/O error) is no sign the lock is gone: it is logged once per run of
  // failures, and the next check decides.
  let failedChecks = 0;
  const lockCheck = setInterval(() => {
    void serverLock?.stillHeld().then(
      (held) => {
        if (failedChecks > 0) logger.info({ event: 'server.lock-check-recovered', failedChecks }, 'server.lock can be checked again');
        failedChecks = 0;
        if (held) return;
        clearInterval(lockCheck);
        logger.fatal({ event: 'server.lock-lost', file: serverLock?.path }, 'server.lock no longer holds this server (removed or replaced): stopping, so that two servers never share the data directory');
        void shutdown('lock-lost', 1);
      },
      (error: unknown) => {
        failedChecks += 1;
        if (failedChecks === 1) logger.warn({ event: 'server.lock-check-failed', file: serverLock?.path, err: error }, 'server.lock could not be checked; the server goes on and checks again in 5 s');
      },
    );
  }, LOCK_CHECK_MS);
  lockCheck.unref();
}

main().catch(async (error) => {
  // A step that failed because the stop closed what it used: the stop under way ends the process.
  if (stopSignal && stop) return;
  // A start that failed after taking the lock leaves no lock file for the next start to judge.
  await serverLock?.release().catch(() => undefined);
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`Stepgate failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
