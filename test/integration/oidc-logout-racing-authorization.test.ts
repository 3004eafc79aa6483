import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import Provider from 'oidc-provider';
import { boot, type Booted } from '../helpers/boot.ts';
import { type Page, type TestBrowser } from '../helpers/browser.ts';
import { BackchannelReceiver } from '../helpers/backchannel-receiver.ts';
import { authRequest, callbackOf, createRp, createUser, isPasswordPage, redeem, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { until } from '../helpers/until.ts';
import type { KeyValue, SetOptions } from '../../src/store/store.ts';

/**
 * A logout in one tab while another tab of the same browser is being signed in to a new client
 * through SSO. README (Sessions): a session that ended stays ended, and every client that holds
 * tokens of it is told. The new client must either be told at the logout, or get nothing that works.
 */
let app: Booted;
let users = 0;
const receiver = new BackchannelReceiver();

before(async () => {
  await receiver.start();
  app = await boot({});
});
after(async () => {
  await app?.close();
  await receiver.stop();
});

interface Operation {
  kind: 'get' | 'set';
  namespace: string;
  key: string;
  value?: unknown;
}

/** Holds the first store write that matches until `until` resolves; `reached` resolves when it starts waiting. */
function holdWrite(kv: KeyValue, match: (operation: Operation) => boolean, until: Promise<unknown>) {
  const { set } = kv;
  let reached!: () => void;
  const atHold = new Promise<void>((resolve) => (reached = resolve));
  let armed = true;
  kv.set = async function heldSet<T>(this: KeyValue, namespace: string, key: string, value: T, options?: SetOptions): Promise<void> {
    if (armed && match({ kind: 'set', namespace, key, value })) {
      armed = false;
      reached();
      await until;
    }
    await set.call(this, namespace, key, value, options);
  };
  return { atHold, restore: () => Object.assign(kv, { set }) };
}

/**
 * The authorization's code being written: after oidc-provider loaded the session and before it saves
 * it (a save waits for its session's turn, which a logout takes too, so the hold is not inside it).
 */
const issuingCode = (op: Operation) => op.namespace === 'oidc:AuthorizationCode' && Provider.ctx?.oidc?.route === 'authorization';

const credentials = () => ({ username: `racer${++users}`, password: 'correct horse racing' });

async function signOutAtStepgate(browser: TestBrowser): Promise<void> {
  const done = await browser.submit(await browser.get(`${app.url}/logout`), {}, '/logout');
  assert.match(done.body, /You are signed out/);
}

async function backchannelRp(suffix = ''): Promise<{ rp: TestRp; uri: string }> {
  const uri = receiver.endpoint(suffix);
  return { rp: await createRp(app, { backchannelLogoutUri: uri }), uri };
}

/** The grants stored for a client: a grant outlives its session only until a logout or the sweep revokes it. */
async function grantsOf(rp: TestRp): Promise<number> {
  const entries = await app.services.store.kv.entries<{ payload: { clientId?: string } }>('oidc:Grant');
  return entries.filter(([, entry]) => entry.payload.clientId === rp.client.id).length;
}

async function sessionRecordsOf(accountId: string): Promise<number> {
  const entries = await app.services.store.kv.entries<{ payload: { accountId?: string } }>('oidc:Session');
  return entries.filter(([, entry]) => entry.payload.accountId === accountId).length;
}

test('Stepgate logout while another tab is being signed in to a new client: the session is not written back, and the new client gets nothing that works', async () => {
  const alice = credentials();
  const accountId = await createUser(app, alice);
  const first = await backchannelRp();
  const x = await backchannelRp();
  const browser = rpBrowser();
  await signIn(first.rp, browser, alice);

  const request = await authRequest(x.rp);
  let loggedOut!: () => void;
  const logoutDone = new Promise<void>((resolve) => (loggedOut = resolve));
  // The authorization loaded the session before the logout; its code, and then its save of the session, land after it.
  const held = holdWrite(app.services.store.kv, issuingCode, logoutDone);
  let page: Page;
  try {
    const authorization = browser.get(request.url.toString());
    await held.atHold;
    await signOutAtStepgate(browser);
    loggedOut();
    page = await authorization;
  } finally {
    held.restore();
  }
  const callback = callbackOf(x.rp, page);

  await assert.rejects(redeem(x.rp, request, callback), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant', 'the new client cannot redeem its code');
  assert.ok(isPasswordPage(await browser.get((await authRequest(first.rp)).url.toString())), 'the browser is signed out');
  assert.equal(receiver.tokensAt(first.uri).length, 1, 'the first client is told');
  assert.equal(await sessionRecordsOf(accountId), 0, 'no provider session of the signed-out user is stored (a session ended stays ended)');
  assert.equal(await grantsOf(x.rp), 0, "the new client's grant, made in the race, is not stored");
});

test('RP-initiated logout (sign out everywhere) while another tab signs in to a new client: the new client is told, or its tokens do not work', async () => {
  const alice = credentials();
  await createUser(app, alice);
  // The first client's back-channel endpoint answers slowly: oidc-provider's logout waits for it (up to 2.5 s) before it ends the session.
  const first = await backchannelRp('/hang');
  const x = await backchannelRp();
  const browser = rpBrowser();
  const one = await signIn(first.rp, browser, alice);

  const confirm = await browser.get(oidc.buildEndSessionUrl(first.rp.config, { id_token_hint: one.tokens.id_token! }).toString());
  const logout = browser.submit(confirm, { logout: 'yes' });
  // oidc-provider has loaded the session and is telling the first client.
  await until(async () => receiver.tokensAt(first.uri).length, (count) => count === 1, 'the first client being told');

  const request = await authRequest(x.rp);
  const page = await browser.get(request.url.toString());
  let tokens: Awaited<ReturnType<typeof redeem>> | undefined;
  if (page.headers.get('location')?.startsWith(x.rp.redirectUri)) tokens = await redeem(x.rp, request, callbackOf(x.rp, page)).catch(() => undefined);
  await logout;

  // The logout waits 2.5 s for the first client: the new client's sign-in and redemption fit in that window.
  assert.ok(tokens, 'the new client was issued tokens while the logout was under way');
  // The client got tokens of the session that is now ended: it must have been told.
  const told = await until(async () => receiver.tokensAt(x.uri).length, () => true, 'a moment');
  const refresh = await oidc.refreshTokenGrant(x.rp.config, tokens.refresh_token!).then(() => 'refreshed', (error: oidc.ResponseBodyError) => error.error);
  assert.equal(told, 1, `the new client holds an ID token of the ended session (refresh: ${refresh}) and was sent no Logout Token`);
  assert.equal(refresh, 'invalid_grant');
  assert.equal(await grantsOf(x.rp), 0, "the new client's grant is revoked with the session");
  assert.ok(isPasswordPage(await browser.get((await authRequest(x.rp)).url.toString())), 'the browser is signed out');
});

test('the provider session written back after a logout is not revived by the next sign-in of the same user (one that asked for the password before the logout)', async () => {
  const alice = credentials();
  const accountId = await createUser(app, alice);
  const first = await backchannelRp();
  const x = await backchannelRp();
  const z = await backchannelRp();
  const browser = rpBrowser();
  const one = await signIn(first.rp, browser, alice);

  // Tab C: an application asking for a new sign-in (prompt=login): its password page is open, its interaction made while the session lived.
  const zRequest = await authRequest(z.rp, { prompt: 'login' });
  const zPassword = await browser.get(zRequest.url.toString());
  assert.ok(isPasswordPage(zPassword), `prompt=login asks for the password, got ${zPassword.status}`);

  // Tab A: SSO to x, whose save lands after tab B's logout.
  const xRequest = await authRequest(x.rp);
  let loggedOut!: () => void;
  const logoutDone = new Promise<void>((resolve) => (loggedOut = resolve));
  const held = holdWrite(app.services.store.kv, issuingCode, logoutDone);
  let xPage: Page;
  try {
    const authorization = browser.get(xRequest.url.toString());
    await held.atHold;
    await signOutAtStepgate(browser);
    loggedOut();
    xPage = await authorization;
  } finally {
    held.restore();
  }
  const xCallback = callbackOf(x.rp, xPage);
  assert.equal(receiver.tokensAt(first.uri).length, 1, 'the first client was told of the logout');

  // Tab C: the sign-in made before the logout is refused; the user signs in again afresh.
  const zDone = await browser.submit(zPassword, { ...alice });
  assert.equal(zDone.status, 400, 'a sign-in started before the logout is expired');
  // Whatever the expired page says, the password was right: the browser is signed in again (a new SSO session).
  const again = await signIn(first.rp, browser, undefined);
  const xRedeemed = await redeem(x.rp, xRequest, xCallback).then(() => 'redeemed', (error: oidc.ResponseBodyError) => error.error);
  assert.deepEqual(
    { sid: again.claims.sid === one.claims.sid ? 'the sid the first client was told had ended' : 'a new sid', xCode: xRedeemed },
    { sid: 'a new sid', xCode: 'invalid_grant' },
    'the provider session that ended (its sids, the code issued in the race) stays ended',
  );
  assert.ok(accountId);
});
