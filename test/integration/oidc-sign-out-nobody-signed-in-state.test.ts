import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { createRp, rpBrowser, type TestRp } from '../helpers/oidc-rp.ts';

/**
 * A sign-out request from a browser signed in nowhere goes straight to the client's post-logout
 * redirect URI: with the state it sent, and with no state when it sent none (RP-Initiated Logout 1.0
 * §3: state is passed back only when it was given), as oidc-provider's own confirmation does.
 */
let app: Booted;
let rp: TestRp;

before(async () => {
  app = await boot();
  rp = await createRp(app);
});

after(async () => {
  await app?.close();
});

test('a sign-out request with no state, from a browser signed in nowhere, is sent back with no state parameter', async () => {
  const answer = await rpBrowser().get(oidc.buildEndSessionUrl(rp.config, { post_logout_redirect_uri: rp.postLogoutRedirectUri }).toString());
  assert.equal(answer.status, 303, answer.body.slice(0, 300));
  const location = new URL(answer.headers.get('location')!);
  assert.equal(`${location.origin}${location.pathname}`, rp.postLogoutRedirectUri);
  assert.equal(location.search, '', `no parameters: ${location.href}`);
});
