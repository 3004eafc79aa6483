import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { authRequest, callbackOf, createRp, createUser, redeem, rpBrowser, stored } from '../helpers/oidc-rp.ts';
import type { KeyValue } from '../../src/store/store.ts';

/**
 * A grant made for an authorization request is written only as its code is issued (served-clients.ts).
 * That write must be done before the answer carrying the code leaves: a client that redeems the code
 * at once (or a store slow to write) would otherwise hold a code whose grant is not stored, and its
 * token request would fail. Here every write of a Grant record is slowed down, and the store is read
 * as soon as the browser has the code.
 */
const GRANT_WRITE_DELAY_MS = 400;

let app: Booted;

before(async () => {
  app = await boot();
  const kv = app.services.store.kv;
  const set = kv.set.bind(kv);
  kv.set = (async (...args: Parameters<KeyValue['set']>) => {
    if (args[0] === 'oidc:Grant') await new Promise((resolve) => setTimeout(resolve, GRANT_WRITE_DELAY_MS));
    return set(...args);
  }) as KeyValue['set'];
});
after(async () => {
  await app?.close();
});

test("the answer that carries a code is sent only once the code's grant is stored", async () => {
  const credentials = { username: 'gwen', password: 'gwen password 12345' };
  await createUser(app, credentials);
  const rp = await createRp(app);
  const browser = rpBrowser();
  const request = await authRequest(rp);
  const answer = await browser.submit(await browser.get(request.url.toString()), { ...credentials });
  const callback = callbackOf(rp, answer);
  assert.ok(callback.searchParams.get('code'), 'the browser holds a code');
  assert.equal(await stored(app, 'Grant'), 1, 'its grant is already stored');
  const tokens = await redeem(rp, request, callback);
  assert.ok((await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!)).access_token, 'the code and its refresh token work');
});
