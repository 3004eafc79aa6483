import { until } from '../helpers/until.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { boot, type Booted } from '../helpers/boot.ts';
import type { TestBrowser } from '../helpers/browser.ts';
import { authRequest, createRp, createUser, isPasswordPage, rpBrowser, signIn, stored, type TestRp } from '../helpers/oidc-rp.ts';
import { TestSp, samlPostForm, sendAuthnRequest } from '../helpers/saml-sp.ts';
import type { AuditEvent } from '../../src/store/store.ts';
import { BackchannelReceiver } from '../helpers/backchannel-receiver.ts';

const ALICE = { username: 'alice', password: 'correct horse 1' };
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

let app: Booted;
let aliceId: string;
const receiver = new BackchannelReceiver();

before(async () => {
  await receiver.start();
  app = await boot();
  aliceId = await createUser(app, { ...ALICE, name: 'Alice' });
});
after(async () => {
  await app?.close();
  await receiver.stop();
});

/** A client whose back-channel logout URI is a fresh endpoint of the receiver; sid as registered by default unless said. */
async function backchannelRp(options: { sessionRequired?: boolean; suffix?: string } = {}): Promise<{ rp: TestRp; uri: string }> {
  const uri = receiver.endpoint(options.suffix);
  const rp = await createRp(app, { backchannelLogoutUri: uri, ...(options.sessionRequired !== undefined && { backchannelLogoutSessionRequired: options.sessionRequired }) });
  return { rp, uri };
}

/** A loopback port that was free a moment ago and that nothing listens on now. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function stepgateLogout(browser: TestBrowser): Promise<void> {
  const confirm = await browser.get(`${app.url}/logout`);
  const done = await browser.submit(confirm, {}, '/logout');
  assert.equal(done.status, 200);
  assert.match(done.url, /\/signed-out$/);
  assert.match(done.body, /You are signed out/);
}

/** Verifies a Logout Token as a relying party must (signature against the JWKS, iss, aud, typ) and returns its claims. */
async function verifiedLogoutToken(token: string, rp: TestRp, idToken: JWTPayload): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${app.url}/oidc/jwks`)), { issuer: app.url, audience: rp.client.id, typ: 'logout+jwt' });
  assert.equal(typeof payload.iat, 'number');
  assert.ok(typeof payload.jti === 'string' && payload.jti.length > 0, 'jti');
  assert.deepEqual(payload.events, { [LOGOUT_EVENT]: {} });
  assert.equal(payload.sub, idToken.sub);
  assert.equal(payload.sub, aliceId);
  assert.equal('nonce' in payload, false, 'a Logout Token never carries a nonce');
  return payload;
}

async function backchannelAudit(): Promise<Array<AuditEvent & { at: string }>> {
  return (await app.services.store.audit.query({ limit: 200 })).events.filter((event) => event.type === 'oidc.backchannel-logout');
}

/** Audit events of the RP-initiated path are written from oidc-provider's events, just after the response. */

test('discovery advertises back-channel logout with sid', async () => {
  const meta = (await (await fetch(`${app.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  assert.equal(meta.backchannel_logout_supported, true);
  assert.equal(meta.backchannel_logout_session_supported, true);
});

test('Stepgate logout sends a Logout Token to both clients of the SSO session, not to one that never signed in; the provider session and its refresh tokens end', async () => {
  const first = await backchannelRp();
  const second = await backchannelRp();
  const bystander = await backchannelRp();
  const plain = await createRp(app);
  const browser = rpBrowser();
  const one = await signIn(first.rp, browser, ALICE);
  const two = await signIn(second.rp, browser, undefined);
  await signIn(plain, browser, undefined);
  assert.ok(one.claims.sid && two.claims.sid, 'ID Tokens of back-channel clients carry sid by default');
  assert.notEqual(one.claims.sid, two.claims.sid, 'sid is per client');
  const sessions = await stored(app, 'Session');
  const auditBefore = (await backchannelAudit()).length;

  await stepgateLogout(browser);

  const [firstToken, ...moreFirst] = receiver.tokensAt(first.uri);
  const [secondToken, ...moreSecond] = receiver.tokensAt(second.uri);
  assert.ok(firstToken && secondToken, 'both clients were told');
  assert.deepEqual([moreFirst, moreSecond], [[], []], 'exactly once each');
  assert.deepEqual(receiver.tokensAt(bystander.uri), [], 'a client that never signed in is not told');
  assert.equal(receiver.received.find((entry) => entry.token === firstToken)?.contentType, 'application/x-www-form-urlencoded');
  assert.equal((await verifiedLogoutToken(firstToken, first.rp, one.claims)).sid, one.claims.sid);
  assert.equal((await verifiedLogoutToken(secondToken, second.rp, two.claims)).sid, two.claims.sid);

  assert.equal(await stored(app, 'Session'), sessions - 1, 'the provider session is destroyed at once');
  await assert.rejects(oidc.refreshTokenGrant(first.rp.config, one.tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
  await assert.rejects(oidc.refreshTokenGrant(second.rp.config, two.tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
  assert.ok(isPasswordPage(await browser.get((await authRequest(first.rp)).url.toString())), 'the next sign-in asks for the password');

  const audit = (await backchannelAudit()).slice(auditBefore);
  assert.deepEqual(audit.map((event) => [event.rp, event.outcome, event.userId, event.via]).sort(), [
    [first.rp.client.id, 'success', aliceId, 'sso-logout'],
    [second.rp.client.id, 'success', aliceId, 'sso-logout'],
  ].sort());
  const lines = app.logs.filter((line) => line.event === 'oidc.backchannel-logout' && line.outcome === 'success');
  assert.ok(lines.some((line) => line.clientId === first.rp.client.id) && lines.some((line) => line.clientId === second.rp.client.id));
  const logs = JSON.stringify(app.logs);
  assert.ok(!logs.includes(firstToken) && !logs.includes(secondToken), 'the Logout Token is never logged');
});

test('a client without the sid requirement gets a Logout Token with sub and without sid; its ID Token has no sid', async () => {
  const { rp, uri } = await backchannelRp({ sessionRequired: false });
  const browser = rpBrowser();
  const { claims } = await signIn(rp, browser, ALICE);
  assert.equal(claims.sid, undefined);
  await stepgateLogout(browser);
  const tokens = receiver.tokensAt(uri);
  assert.equal(tokens.length, 1);
  assert.equal('sid' in (await verifiedLogoutToken(tokens[0]!, rp, claims)), false);
});

test('RP-initiated logout: the other client is told once, and so is the initiating one (oidc-provider notifies every client of its session), never twice', async () => {
  const first = await backchannelRp();
  const second = await backchannelRp();
  const browser = rpBrowser();
  const one = await signIn(first.rp, browser, ALICE);
  const two = await signIn(second.rp, browser, undefined);

  const confirm = await browser.get(oidc.buildEndSessionUrl(first.rp.config, { id_token_hint: one.tokens.id_token!, post_logout_redirect_uri: first.rp.postLogoutRedirectUri }).toString());
  const done = await browser.submit(confirm, { logout: 'yes' });
  assert.ok(done.headers.get('location')?.startsWith(first.rp.postLogoutRedirectUri));

  const firstTokens = receiver.tokensAt(first.uri);
  const secondTokens = receiver.tokensAt(second.uri);
  assert.equal(secondTokens.length, 1, 'the other client: exactly once');
  assert.equal(firstTokens.length, 1, 'the initiating client: exactly once');
  assert.equal((await verifiedLogoutToken(secondTokens[0]!, second.rp, two.claims)).sid, two.claims.sid);
  assert.equal((await verifiedLogoutToken(firstTokens[0]!, first.rp, one.claims)).sid, one.claims.sid);
  assert.ok(isPasswordPage(await browser.get((await authRequest(second.rp)).url.toString())), 'the SSO session ended too');
  await assert.rejects(oidc.refreshTokenGrant(second.rp.config, two.tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');

  const ids = [first.rp.client.id, second.rp.client.id];
  const audit = await until(backchannelAudit, (events) => ids.every((id) => events.some((event) => event.rp === id)), 'a back-channel audit event for every client');
  assert.deepEqual(audit.filter((event) => ids.includes(event.rp!)).map((event) => [event.rp, event.outcome, event.via]).sort(), [
    [first.rp.client.id, 'success', 'oidc-rp-initiated'],
    [second.rp.client.id, 'success', 'oidc-rp-initiated'],
  ].sort());
});

test('RP-initiated logout with "stay signed in": only the initiating client is logged out and told; the SSO session and the other client stay', async () => {
  const first = await backchannelRp();
  const second = await backchannelRp();
  const browser = rpBrowser();
  const one = await signIn(first.rp, browser, ALICE);
  const two = await signIn(second.rp, browser, undefined);

  const confirm = await browser.get(oidc.buildEndSessionUrl(first.rp.config, { id_token_hint: one.tokens.id_token! }).toString());
  await browser.submit(confirm, {});

  assert.equal(receiver.tokensAt(first.uri).length, 1);
  assert.equal((await verifiedLogoutToken(receiver.tokensAt(first.uri)[0]!, first.rp, one.claims)).sid, one.claims.sid);
  assert.deepEqual(receiver.tokensAt(second.uri), []);
  await signIn(second.rp, browser, undefined);
  assert.ok((await oidc.refreshTokenGrant(second.rp.config, two.tokens.refresh_token!)).access_token);
});

test('relying parties that answer 500, never answer or cannot be reached do not stop the logout; each outcome is audited', async () => {
  const failing = await backchannelRp({ suffix: '/500' });
  const hanging = await backchannelRp({ suffix: '/hang' });
  const unreachable = await createRp(app, { backchannelLogoutUri: `http://127.0.0.1:${await closedPort()}/backchannel`, backchannelLogoutSessionRequired: true });
  const working = await backchannelRp();
  const browser = rpBrowser();
  await signIn(failing.rp, browser, ALICE);
  for (const rp of [hanging.rp, unreachable, working.rp]) await signIn(rp, browser, undefined);
  const ssoSessions = await app.services.store.kv.count('sso-session');

  const started = Date.now();
  await stepgateLogout(browser);
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 5000, `the logout answered after ${elapsed} ms`);

  assert.equal(await app.services.store.kv.count('sso-session'), ssoSessions - 1, 'the SSO session is gone');
  assert.ok(isPasswordPage(await browser.get((await authRequest(working.rp)).url.toString())));
  assert.equal(receiver.tokensAt(working.uri).length, 1, 'the working client is told all the same');
  assert.equal(receiver.tokensAt(failing.uri).length, 1);
  assert.equal(receiver.tokensAt(hanging.uri).length, 1);

  const audit = await backchannelAudit();
  const outcome = (clientId: string) => audit.findLast((event) => event.rp === clientId);
  assert.deepEqual([outcome(failing.rp.client.id)?.outcome, outcome(failing.rp.client.id)?.status, outcome(failing.rp.client.id)?.reason], ['failure', 500, 'answered 500']);
  assert.deepEqual([outcome(hanging.rp.client.id)?.outcome, outcome(hanging.rp.client.id)?.reason], ['failure', 'no answer in time']);
  assert.equal(outcome(unreachable.client.id)?.outcome, 'failure');
  assert.match(String(outcome(unreachable.client.id)?.reason), /not reachable \(ECONNREFUSED\)/);
  assert.equal(outcome(working.rp.client.id)?.outcome, 'success');
  const warnings = app.logs.filter((line) => line.event === 'oidc.backchannel-logout' && line.outcome === 'failure').map((line) => line.clientId);
  for (const id of [failing.rp.client.id, hanging.rp.client.id, unreachable.client.id]) assert.ok(warnings.includes(id), `a warning for ${id}`);
  assert.ok(!JSON.stringify(app.logs).includes(receiver.tokensAt(failing.uri)[0]!), 'the Logout Token is never logged');
});

test('SAML Single Logout of the SSO session also tells the OIDC clients that signed in through it', async () => {
  const sp = await TestSp.create(app, { name: 'backchannel-slo', redirectSlo: true });
  const { rp, uri } = await backchannelRp();
  const browser = rpBrowser();
  const { claims } = await signIn(rp, browser, ALICE);
  const page = await sendAuthnRequest(browser, sp);
  const { profile } = await sp.validate(samlPostForm(page).fields.SAMLResponse!);

  const ssoSessions = await app.services.store.kv.count('sso-session');
  // How the SP is answered is SAML's business (saml-slo tests); here: the session ended and the OIDC client was told.
  const answer = await browser.get(await sp.logoutUrl(profile!), { followRedirects: false });
  assert.ok(answer.status < 500, `SAML logout answered ${answer.status}`);
  assert.equal(await app.services.store.kv.count('sso-session'), ssoSessions - 1);
  const tokens = receiver.tokensAt(uri);
  assert.equal(tokens.length, 1);
  assert.equal((await verifiedLogoutToken(tokens[0]!, rp, claims)).sid, claims.sid);
});

test('a new sign-in that replaces the SSO session (prompt=login) is not a logout: nobody is told and the clients keep their sessions', async () => {
  const { rp, uri } = await backchannelRp();
  const browser = rpBrowser();
  await signIn(rp, browser, ALICE);
  const again = await signIn(rp, browser, ALICE, { prompt: 'login' });
  assert.deepEqual(receiver.tokensAt(uri), []);
  assert.ok((await oidc.refreshTokenGrant(rp.config, again.tokens.refresh_token!)).access_token);
  await stepgateLogout(browser);
  assert.equal(receiver.tokensAt(uri).length, 1, 'the re-authenticated session is still linked and told at logout');
});
