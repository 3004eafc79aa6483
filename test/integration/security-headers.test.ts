import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpsServer, request as httpsRequest, type Server } from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { boot } from '../helpers/boot.ts';
import { createTestCa } from '../helpers/tls-ca.ts';
import { parseConfig } from '../../src/config/load.ts';
import { buildServices } from '../../src/build-services.ts';
import { createApp } from '../../src/app.ts';
import { createLogger } from '../../src/core/log.ts';

/** Every kind of response: pages, errors, SAML metadata, oidc-provider endpoints. */
const PATHS = ['/healthz', '/logout', '/no-such-page', '/saml/metadata', '/.well-known/openid-configuration', '/oidc/jwks', '/saml/sso?SAMLRequest=not-base64'];

test('the strict headers are on every kind of response: pages, errors, SAML metadata, oidc-provider endpoints', async () => {
  const app = await boot();
  try {
    for (const path of PATHS) {
      const response = await fetch(`${app.url}${path}`, { redirect: 'manual' });
      await response.arrayBuffer();
      assert.equal(response.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', path);
      assert.match(response.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, path);
      assert.equal(response.headers.get('strict-transport-security'), null, `${path}: not over plain http`);
    }
  } finally {
    await app.close();
  }
});

test('served as https (publicUrl https://, over TLS with a test CA): every kind of response has HSTS for a year, this host only', async () => {
  const ca = await createTestCa();
  const dataDir = await mkdtemp(join(tmpdir(), 'stepgate-test-'));
  const [cert, key, caPem] = await Promise.all([readFile(ca.certFile), readFile(ca.keyFile), readFile(ca.caFile)]);
  const server: Server = createHttpsServer({ cert, key });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const config = parseConfig({ server: { host: '127.0.0.1', port, publicUrl: `https://localhost:${port}` }, dataDir, secretKey: randomBytes(32).toString('base64'), log: { level: 'warn' } });
  const services = await buildServices(config, { logger: createLogger('silent') });
  try {
    server.on('request', await createApp(services));
    /** One GET over TLS, the server's certificate checked against the test CA. */
    const headersOf = (path: string) =>
      new Promise<IncomingHttpHeaders>((resolve, reject) => {
        httpsRequest({ host: '127.0.0.1', port, path, servername: 'localhost', headers: { host: `localhost:${port}` }, ca: caPem }, (response) => {
          response.resume().on('end', () => resolve(response.headers)).on('error', reject);
        })
          .on('error', reject)
          .end();
      });
    for (const path of PATHS) {
      const headers = await headersOf(path);
      assert.equal(headers['strict-transport-security'], 'max-age=31536000', `${path}: a year, without includeSubDomains (other hosts of the organisation may not be on https)`);
      assert.equal(headers['x-frame-options'], 'DENY', path);
      assert.match(String(headers['content-security-policy']), /frame-ancestors 'none'/, path);
    }
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    services.adminLogouts.stop();
    services.directoryHealth?.stop();
    await services.directory.close();
    await services.store.close();
    await rm(dataDir, { recursive: true, force: true });
    await ca.cleanup();
  }
});
