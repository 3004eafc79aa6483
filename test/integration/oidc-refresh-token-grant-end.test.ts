import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { createRp, createUser, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';

/**
 * README "oidc.*TtlSeconds": refreshTokenTtlSeconds counts from the sign-in (the grant); a refresh
 * does not extend it. A rotated refresh token must say so: it was given a full new lifetime at
 * introspection while the server refused it when the grant ended. On the real clock (oidc-provider
 * reads its own), with a lifetime of a few seconds.
 */
const ALICE = { username: 'alice', password: 'correct horse 1' };
let app: Booted;
let rp: TestRp;

before(async () => {
  app = await boot({ oidc: { refreshTokenTtlSeconds: 30 } });
  await createUser(app, ALICE);
  rp = await createRp(app);
});
after(() => app?.close());

test('a rotated refresh token ends when the first one does, and introspection says so', async () => {
  const { tokens } = await signIn(rp, rpBrowser(), ALICE);
  const first = await oidc.tokenIntrospection(rp.config, tokens.refresh_token!);
  assert.equal(first.active, true);
  // Whole seconds: the refresh is issued at least one second after the first token.
  await sleep(1_100);
  const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
  const rotated = await oidc.tokenIntrospection(rp.config, refreshed.refresh_token!);
  assert.equal(rotated.active, true);
  assert.ok(rotated.iat! > first.iat!, `issued later: ${rotated.iat} after ${first.iat}`);
  assert.equal(rotated.exp, first.exp, 'the rotated token ends with the grant, as the first one does');
});
