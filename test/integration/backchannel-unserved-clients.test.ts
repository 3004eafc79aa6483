import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import type { TestBrowser } from '../helpers/browser.ts';
import { authRequest, callbackOf, createRp, createUserWithTotp, isCodePage, redeem, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';
import { BackchannelReceiver } from '../helpers/backchannel-receiver.ts';
import { until } from '../helpers/until.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { oidcClientsOf } from '../../src/oidc/session-clients.ts';
import type { SsoSession } from '../../src/session/sso-session.ts';
import type { NewClient } from '../../src/oidc/client-registry.ts';

/**
 * A browser with an SSO session can be sent to any client's authorization endpoint: one whose
 * policy refuses the user, a silent prompt=none one, one whose second factor the user never enters.
 * None of them was given a code, so none may learn at logout who the user was (the Logout Token's
 * sub), be listed among the session's applications, be audited as logged out or keep a grant.
 */
const PASSWORD = 'correct horse 42';

let now = Date.now();
const clock = { now: () => now };
let app: Booted;
let users = 0;
const receiver = new BackchannelReceiver();

before(async () => {
  await receiver.start();
  app = await boot({}, { clock });
});
after(async () => {
  await app?.close();
  await receiver.stop();
});

/** A user of its own for each case (its SSO session is the only one), with TOTP set up: a second factor is asked for, not set up. */
async function newUser(): Promise<{ id: string; credentials: { username: string; password: string }; secret: string }> {
  const credentials = { username: `user${++users}`, password: PASSWORD };
  const { id, secret } = await createUserWithTotp(app, credentials, now);
  now += 30_000;
  return { id, credentials, secret };
}

async function backchannelRp(options: Partial<NewClient> = {}): Promise<{ rp: TestRp; uri: string }> {
  const uri = receiver.endpoint();
  return { rp: await createRp(app, { backchannelLogoutUri: uri, ...options }), uri };
}

async function stepgateLogout(browser: TestBrowser): Promise<void> {
  const done = await browser.submit(await browser.get(`${app.url}/logout`), {}, '/logout');
  assert.match(done.body, /You are signed out/);
}

/** What `session list` shows as the OIDC applications of the user's SSO session. */
async function listedClients(userId: string): Promise<string[]> {
  const sessions = (await app.services.store.kv.entries<SsoSession>('sso-session')).filter(([, session]) => session.user.id === userId);
  assert.equal(sessions.length, 1, 'one SSO session of the user');
  return oidcClientsOf(app.services.store.kv, app.services.clock, app.services.sessions, sessions[0]![0]);
}

/** The clients of the stored grants (KvAdapter's records). */
async function grantClients(): Promise<string[]> {
  return (await app.services.store.kv.entries<{ payload: { clientId: string } }>('oidc:Grant')).map(([, stored]) => stored.payload.clientId);
}

async function backchannelAudit(): Promise<string[]> {
  return (await app.services.store.audit.query({ limit: 500 })).events.filter((event) => event.type === 'oidc.backchannel-logout').map((event) => String(event.rp));
}

/** Sends the browser to the client without getting a code: each way a client can be asked and not served. */
async function refusedEveryWay(browser: TestBrowser) {
  const denied = await backchannelRp({ policy: 'deny-everyone' });
  const deniedPage = await browser.get((await authRequest(denied.rp)).url.toString());
  assert.equal(deniedPage.status, 403, 'the policy refuses the user with a page');

  const deniedSilently = await backchannelRp({ policy: 'deny-everyone' });
  const silentDenial = await browser.get((await authRequest(deniedSilently.rp, { prompt: 'none' })).url.toString());
  assert.equal(callbackOf(deniedSilently.rp, silentDenial).searchParams.get('error'), 'access_denied');

  const silentMfa = await backchannelRp({ policy: 'permit-everyone-require-mfa' });
  const silentAnswer = await browser.get((await authRequest(silentMfa.rp, { prompt: 'none' })).url.toString());
  assert.equal(callbackOf(silentMfa.rp, silentAnswer).searchParams.get('error'), 'interaction_required');

  const abandoned = await backchannelRp({ policy: 'permit-everyone-require-mfa' });
  assert.ok(isCodePage(await browser.get((await authRequest(abandoned.rp)).url.toString())), 'the code page, never answered');

  return [denied, deniedSilently, silentMfa, abandoned];
}

test('at a Stepgate logout only the client that got a code is told, listed and audited; refused, silent and abandoned clients learn nothing and keep no grant', async () => {
  const user = await newUser();
  const served = await backchannelRp();
  const browser = rpBrowser();
  await signIn(served.rp, browser, user.credentials);
  const unserved = await refusedEveryWay(browser);
  const unservedIds = unserved.map(({ rp }) => rp.client.id);

  assert.deepEqual(await listedClients(user.id), [served.rp.client.id], 'session list names the served client only');
  const grants = await grantClients();
  assert.ok(grants.includes(served.rp.client.id));
  for (const id of unservedIds) assert.ok(!grants.includes(id), 'no grant for a client that got no code');

  await stepgateLogout(browser);

  assert.equal(receiver.tokensAt(served.uri).length, 1, 'the served client is told');
  for (const { uri } of unserved) assert.deepEqual(receiver.tokensAt(uri), [], 'a client that got no code is not told');
  const audited = await backchannelAudit();
  assert.ok(audited.includes(served.rp.client.id));
  for (const id of unservedIds) assert.ok(!audited.includes(id), 'nor audited as logged out');
});

test('RP-initiated logout tells only the clients that got a code', async () => {
  const user = await newUser();
  const served = await backchannelRp();
  const browser = rpBrowser();
  const { tokens } = await signIn(served.rp, browser, user.credentials);
  const unserved = await refusedEveryWay(browser);

  const confirm = await browser.get(oidc.buildEndSessionUrl(served.rp.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: served.rp.postLogoutRedirectUri }).toString());
  const done = await browser.submit(confirm, { logout: 'yes' });
  assert.ok(done.headers.get('location')?.startsWith(served.rp.postLogoutRedirectUri));

  assert.equal(receiver.tokensAt(served.uri).length, 1);
  await until(backchannelAudit, (events) => events.includes(served.rp.client.id), 'the served client audited');
  const audited = await backchannelAudit();
  for (const { rp, uri } of unserved) {
    assert.deepEqual(receiver.tokensAt(uri), [], 'a client that got no code is not told');
    assert.ok(!audited.includes(rp.client.id));
  }
});

test('a client refused first and served later in the same session is told at logout; SSO reuse and refresh tokens work', async () => {
  const user = await newUser();
  const first = await backchannelRp();
  const later = await backchannelRp({ policy: 'permit-everyone-require-mfa' });
  const browser = rpBrowser();
  await signIn(first.rp, browser, user.credentials);
  const silent = await browser.get((await authRequest(later.rp, { prompt: 'none' })).url.toString());
  assert.equal(callbackOf(later.rp, silent).searchParams.get('error'), 'interaction_required');
  assert.deepEqual(await listedClients(user.id), [first.rp.client.id]);

  const request = await authRequest(later.rp);
  const codePage = await browser.get(request.url.toString());
  assert.ok(isCodePage(codePage));
  now += 30_000;
  const laterTokens = await redeem(later.rp, request, callbackOf(later.rp, await browser.submit(codePage, { code: oathtoolTotp(user.secret, now) })));
  assert.ok((await oidc.refreshTokenGrant(later.rp.config, laterTokens.refresh_token!)).access_token, 'the grant saved as the code was issued');
  assert.deepEqual(await listedClients(user.id), [first.rp.client.id, later.rp.client.id].sort());

  const { tokens } = await signIn(first.rp, browser, undefined);
  assert.ok((await oidc.refreshTokenGrant(first.rp.config, tokens.refresh_token!)).access_token, 'a refresh token of an SSO reuse works');
  assert.equal((await grantClients()).filter((id) => id === first.rp.client.id).length, 1, 'the SSO reuse keeps the one grant');

  await stepgateLogout(browser);
  assert.equal(receiver.tokensAt(first.uri).length, 1);
  assert.equal(receiver.tokensAt(later.uri).length, 1);
});
