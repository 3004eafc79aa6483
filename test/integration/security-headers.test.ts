import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { readFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { boot } from '../helpers/boot.ts';
import { createTestCa } from '../helpers/tls-ca.ts';

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
  const [cert, key, caPem] = await Promise.all([readFile(ca.certFile), readFile(ca.keyFile), readFile(ca.caFile)]);
  const app = await boot({}, { tls: { cert, key } });
  try {
    /** One GET over TLS, the server's certificate checked against the test CA. */
    const headersOf = (path: string) =>
      new Promise<IncomingHttpHeaders>((resolve, reject) => {
        httpsRequest({ host: '127.0.0.1', port: app.port, path, servername: 'localhost', headers: { host: `localhost:${app.port}` }, ca: caPem }, (response) => {
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
    await app.close();
    await ca.cleanup();
  }
});
