import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import type { Page } from '../helpers/browser.ts';
import { authRequest, callbackOf, CALLBACK_BASE, createRp, createUser, isPasswordPage, rpBrowser, type TestRp } from '../helpers/oidc-rp.ts';
import { clientRegistry } from '../../src/oidc/client-registry.ts';

const PASSWORD = 'correct horse 42';
let app: Booted;

before(async () => {
  app = await boot();
  await createUser(app, { username: 'alice', password: PASSWORD });
});
after(() => app?.close());

/** A client with a second redirect URI besides its own, which the administrator takes away later. */
async function twoUriClient(): Promise<{ rp: TestRp; second: string }> {
  const rp = await createRp(app);
  const second = rp.redirectUri.replace(/callback$/, 'second-callback');
  assert.ok((await registry().update(rp.client.id, { redirectUris: [rp.redirectUri, second] })).ok);
  return { rp, second };
}

const registry = () => clientRegistry(app.services.store, app.services.box, app.services.clock);

async function lastEvent(type: string) {
  return (await app.services.store.audit.query({ types: [type] })).events.at(-1);
}

test('a sign-in under way whose redirect URI the administrator removed ends with an error page, never a redirect there', async () => {
  const { rp, second } = await twoUriClient();
  const browser = rpBrowser();
  const request = await authRequest(rp, { redirect_uri: second });
  const passwordPage = await browser.get(request.url.toString());
  assert.ok(isPasswordPage(passwordPage));
  assert.ok((await registry().update(rp.client.id, { redirectUris: [rp.redirectUri] })).ok);

  const answer = await browser.submit(passwordPage, { username: 'alice', password: PASSWORD });
  assert.equal(answer.status, 400, `got ${answer.status} ${answer.headers.get('location') ?? ''}`);
  assert.equal(answer.headers.get('location'), null);
  assert.ok(!browser.history.some((url) => url.startsWith(CALLBACK_BASE)), 'nothing went to the client');
  assert.match(answer.body, /Unknown return address/);
  assert.doesNotMatch(answer.body, /Back to /, 'no way back to an application that cannot take the answer');
  const event = await lastEvent('oidc.sign-in');
  assert.equal(event?.outcome, 'failure');
  assert.equal(event?.reason, 'redirect-uri-removed');
  assert.equal(event?.rp, rp.client.id);
  assert.equal(event?.username, 'alice');
  // Back to the sign-in's page: it finished, but nothing reached the client, so it is not "complete".
  const back = await browser.get(signInPageOf(passwordPage));
  assert.match(back.body, /<h1>Sign-in finished<\/h1>/);
  assert.doesNotMatch(back.body, /is complete/);

  // The same request sent again is refused at the front door, as any unregistered redirect URI.
  const again = await browser.get(request.url.toString());
  assert.equal(again.status, 400);
  assert.match(again.body, /Unknown return address/);
  assert.match(again.body, /not registered for it, so nothing was sent\. Go back to the application, and tell its administrator or your helpdesk\./, 'what happened, and what to do');
});

test('a code sent to a redirect URI removed before it is redeemed gets invalid_grant', async () => {
  const { rp, second } = await twoUriClient();
  const browser = rpBrowser();
  const request = await authRequest(rp, { redirect_uri: second });
  const callback = callbackOf({ ...rp, redirectUri: second }, await browser.submit(await browser.get(request.url.toString()), { username: 'alice', password: PASSWORD }));
  assert.ok((await registry().update(rp.client.id, { redirectUris: [rp.redirectUri] })).ok);

  await assert.rejects(
    oidc.authorizationCodeGrant(rp.config, callback, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce }),
    (error: oidc.ResponseBodyError) => error.error === 'invalid_grant',
  );
  const event = await lastEvent('oidc.token');
  assert.equal(event?.outcome, 'failure');
  assert.equal(event?.reason, 'redirect-uri-removed');
  assert.equal(event?.rp, rp.client.id);
});

test('a code for a redirect URI that stays registered is still redeemed', async () => {
  const { rp, second } = await twoUriClient();
  const browser = rpBrowser();
  const request = await authRequest(rp);
  const callback = callbackOf(rp, await browser.submit(await browser.get(request.url.toString()), { username: 'alice', password: PASSWORD }));
  assert.ok((await registry().update(rp.client.id, { redirectUris: [rp.redirectUri, `${second}-other`] })).ok);
  const tokens = await oidc.authorizationCodeGrant(rp.config, callback, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
  assert.ok(tokens.access_token);
});

/** The address of the sign-in's own page (the first one came in the answer to the authorization request). */
function signInPageOf(page: Page): string {
  const tx = /action="\/login\/([^/"]+)\/password"/.exec(page.body)?.[1];
  assert.ok(tx, 'a sign-in page');
  return new URL(`/login/${tx}`, page.url).toString();
}
