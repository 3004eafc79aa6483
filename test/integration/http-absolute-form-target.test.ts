import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { boot } from '../helpers/boot.ts';
import { createRp } from '../helpers/oidc-rp.ts';

/** One request whose request line names a whole URL of another host, as a client sends it to a proxy. */
function absoluteForm(port: number, target: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<string> {
  const { method = 'GET', headers = {}, body = '' } = options;
  const head = Object.entries({ Host: `localhost:${port}`, ...headers, ...(body ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}), Connection: 'close' }).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${method} ${target} HTTP/1.1\r\n${head}\r\n${body}`));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => resolve(Buffer.concat(chunks).toString('utf8'))).on('error', reject);
  });
}
const absoluteFormGet = (port: number, target: string) => absoluteForm(port, target);

test('a request line naming another host (absolute form) changes no URL Stepgate writes: discovery and the sign-out redirect stay on the public URL', async () => {
  const app = await boot();
  try {
    const discovery = await absoluteFormGet(app.port, 'http://evil.example/.well-known/openid-configuration');
    assert.match(discovery, /^HTTP\/1\.1 200 /);
    const metadata = JSON.parse(discovery.slice(discovery.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint', 'end_session_endpoint', 'introspection_endpoint', 'revocation_endpoint']) {
      assert.ok(String(metadata[key]).startsWith(`${app.url}/`), `${key}: ${metadata[key]}`);
    }
    const signOut = await absoluteFormGet(app.port, 'http://evil.example/oidc/session/end');
    assert.match(signOut, /^HTTP\/1\.1 303 /);
    assert.match(signOut, new RegExp(`\r\nLocation: ${app.url}/`, 'i'));
    assert.doesNotMatch(signOut, /evil\.example/);
    // Express's static files redirect a folder to its name with a slash, built from the original URL.
    const folder = await absoluteFormGet(app.port, 'http://evil.example/assets');
    assert.match(folder, /^HTTP\/1\.1 301 /);
    assert.match(folder, /\r\nLocation: \/assets\/\r\n/i);
    // The authority without a path is the root.
    assert.match(await absoluteFormGet(app.port, 'http://evil.example?x=1'), /^HTTP\/1\.1 404 /);
    assert.match(await absoluteFormGet(app.port, 'http://evil.example/healthz'), /^HTTP\/1\.1 200 /);
    // The authority ends at the query too: a path in the query is not the request's.
    assert.match(await absoluteFormGet(app.port, 'http://evil.example?next=/healthz'), /^HTTP\/1\.1 404 /);
  } finally {
    await app.close();
  }
});

test("a DPoP proof made for another host's token endpoint is refused when the request line names that host", async () => {
  const app = await boot();
  try {
    const rp = await createRp(app, { public: true });
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const proof = await new SignJWT({ htm: 'POST', htu: 'http://evil.example/oidc/token', jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
      .setIssuedAt()
      .sign(privateKey);
    const answer = await absoluteForm(app.port, 'http://evil.example/oidc/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', DPoP: proof },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'not-issued', client_id: rp.client.id }).toString(),
    });
    // The proof's htu is checked against the public URL's token endpoint, not against the request line.
    assert.match(answer, /"error":"invalid_dpop_proof"/);
  } finally {
    await app.close();
  }
});

test('a request in origin form whose query holds a URL is served as it is', async () => {
  const app = await boot();
  try {
    assert.match(await absoluteFormGet(app.port, '/healthz?next=http://other.example/path'), /^HTTP\/1\.1 200 /);
    const discovery = await absoluteFormGet(app.port, '/.well-known/openid-configuration?x=https://other.example/');
    assert.match(discovery, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(discovery, /other\.example/);
  } finally {
    await app.close();
  }
});
