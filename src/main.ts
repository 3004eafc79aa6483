import { flushCompileCache } from 'node:module';
import { isIP } from 'node:net';
import { loadConfig, ConfigError } from './config/load.ts';
import { buildServices } from './build-services.ts';
import { createApp } from './app.ts';
import { createHttpServer } from './http/http-server.ts';
import { mintBootstrapSecretIfNeeded } from './admin/bootstrap.ts';
import { idpEndpoints } from './saml/idp-identity.ts';
import { holdServerLock, type ServerLock } from './store/server-lock.ts';
import { recordPublicIdentity } from './config/public-identity.ts';
import { warnOfExpiringCertificates } from './keys/certificate-expiry.ts';
import { warnOfRemovedKeysPublished } from './keys/removed-key-published.ts';
import { DirectoryMisconfiguredError } from './directory/directory.ts';
import { serverStop } from './server-stop.ts';

/** How often the server checks it still holds server.lock (one small file read). */
const LOCK_CHECK_MS = 5_000;

/** Held from before the store opens to the end: a second server on the data directory would lose sign-ins at the first compaction. */
let serverLock: ServerLock | undefined;

async function main(): Promise<void> {
  const config = loadConfig();
  serverLock = await holdServerLock(config.dataDir);
  const services = await buildServices(config);
  const { logger } = services;
  if (services.secretKeyGeneratedAt) logger.warn({ event: 'secret-key.generated', file: services.secretKeyGeneratedAt }, 'generated a new key for secrets at rest; back it up with the data directory');
  await warnOfExpiringCertificates(services.keys, logger, services.clock.now());
  await warnOfRemovedKeysPublished(services.keys, services.store, logger);
  await services.directory.startupCheck().catch((error) =>
    // A base DN that does not exist is a setting to correct, not a directory to wait for.
    logger.error({ event: 'directory.startup-check-failed', err: error }, error instanceof DirectoryMisconfiguredError ? 'directory start-up check failed: the configuration does not fit the directory; sign-ins will fail until it is corrected' : 'directory start-up check failed; sign-ins will fail until it is reachable'),
  );
  const app = await createApp(services);
  const server = createHttpServer(logger);
  server.on('request', app);
  server.listen(config.server.port, config.server.host);
  await new Promise<void>((resolve, reject) =>
    server.once('listening', resolve).once('error', (error: NodeJS.ErrnoException) => {
      // Node's message names the address but not where it came from.
      reject(new Error(`cannot listen on ${config.server.host}:${config.server.port} (server.host / HOST, server.port / PORT): ${error.message}`));
    }),
  );
  // Before the ready lines: a stop sent as soon as they appear must find its handler, or the
  // process dies on the default action and leaves server.lock behind. A stop during the start-up
  // writes waits for them: the one-time bootstrap secret is stored and printed, or neither.
  let startupWrites: Promise<unknown> = Promise.resolve();
  const shutdown = serverStop({ server, services, serverLock: () => serverLock, startupWrites: () => startupWrites });
  // logrotate's postrotate: `kill -HUP <pid>`; audit.log is then a new file, the rotated one keeps every earlier line.
  process.on('SIGHUP', () => {
    services.store.reopenLogs().then(
      () => logger.info({ event: 'store.logs-reopened' }, 'audit log reopened after rotation'),
      (error) => logger.error({ event: 'store.logs-reopen-failed', err: error }, 'audit log could not be reopened; events go on to the rotated file'),
    );
  });
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
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
  // Node writes the compile cache (NODE_COMPILE_CACHE, set by `npm start`) only at a clean exit: a
  // server ended by kill -9 or a crash would leave the next start to strip every module again, and
  // so to keep Node's TypeScript parser (about 20 MB) for its whole run. Written before the ready
  // lines, so a server seen ready has written it. Nothing when the cache is not enabled.
  flushCompileCache();
  process.stdout.write(lines.join('\n') + '\n');
  logger.info({ port, publicUrl: base }, 'listening');

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
  // A start that failed after taking the lock leaves no lock file for the next start to judge.
  await serverLock?.release().catch(() => undefined);
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`Stepgate failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
