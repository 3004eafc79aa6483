import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boot } from '../helpers/boot.ts';

test('the strict headers are on every kind of response: pages, errors, SAML metadata, oidc-provider endpoints', async () => {
  const app = await boot();
  try {
    for (const path of ['/healthz', '/logout', '/no-such-page', '/saml/metadata', '/.well-known/openid-configuration', '/oidc/jwks', '/saml/sso?SAMLRequest=not-base64']) {
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
