import { until } from '../helpers/until.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { authRequest, callbackOf, CALLBACK_BASE, createRp, redeem, type TestRp } from '../helpers/oidc-rp.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { BackchannelReceiver } from '../helpers/backchannel-receiver.ts';
import { cliProcess } from '../helpers/cli.ts';
import { clientRegistry } from '../../src/oidc/client-registry.ts';
import { LocalUserAdmin } from '../../src/directory/local-user-admin.ts';

const SECRET_KEY = randomBytes(32).toString('base64');
const PASSWORD = 'correct horse 42';

type Event = Record<string, unknown>;

let app: Booted;
let offset = 0;
const clock = { now: () => Date.now() + offset };
const receiver = new BackchannelReceiver();
const userIds: Record<string, string> = {};
/** Every token, code, secret and session id the tests saw: none may appear in the audit log. */
const secrets = new Set<string>([PASSWORD, SECRET_KEY]);

before(async () => {
  await receiver.start();
  // Requests come "through a proxy" at 127.0.0.1, so every step can be made from its own address.
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] } }, { secretKey: SECRET_KEY, clock });
  for (const name of ['alice', 'bea', 'carl', 'dora', 'erin', 'fred', 'gina']) userIds[name] = await addLocalUser(app.services, name, PASSWORD);
});
after(async () => {
  await app?.close();
  await receiver.stop();
});

/** A browser behind the trusted proxy at `ip`; it stops at relying-party callbacks. */
class BrowserAt extends TestBrowser {
  readonly #ip: string;

  constructor(ip: string) {
    super();
    this.#ip = ip;
    this.stopAt.push(CALLBACK_BASE);
  }

  override async request(url: string, init: Parameters<TestBrowser['request']>[1] = {}): Promise<Page> {
    const page = await super.request(url, { ...init, headers: { ...init.headers, 'x-forwarded-for': this.#ip } });
    for (const jar of this.cookies.values()) for (const value of jar.values()) if (value.length >= 16) secrets.add(value);
    return page;
  }
}

/** The X-Request-Id of the last answer a relying party got: the requestId of the event its request must produce. */
let lastRequestId = '';

/** The relying party's back end calls from `ip` (through the proxy) from now on. */
function callsFrom(config: oidc.Configuration, ip: string): void {
  config[oidc.customFetch] = async (url, options) => {
    // openid-client's body types are fetch's, minus a Uint8Array typing quirk.
    const response = await fetch(url, { ...options, body: options.body as BodyInit | undefined, headers: { ...options.headers, 'x-forwarded-for': ip } });
    lastRequestId = response.headers.get('x-request-id') ?? '';
    return response;
  };
}

/** A client of the same server whose requests claim `clientId` and authenticate with `secret`. */
function impostor(rp: TestRp, clientId: string, secret: string, ip: string): oidc.Configuration {
  secrets.add(secret);
  const config = new oidc.Configuration(rp.config.serverMetadata(), clientId, {}, oidc.ClientSecretBasic(secret));
  oidc.allowInsecureRequests(config);
  callsFrom(config, ip);
  return config;
}

async function newRp(options: Parameters<typeof createRp>[1] = {}): Promise<TestRp> {
  const rp = await createRp(app, options);
  if (rp.secret) secrets.add(rp.secret);
  return rp;
}

async function signIn(rp: TestRp, username: string, ip: string) {
  const browser = new BrowserAt(ip);
  const request = await authRequest(rp);
  const page = await browser.submit(await browser.get(request.url.toString()), { username, password: PASSWORD });
  const callback = callbackOf(rp, page);
  secrets.add(callback.searchParams.get('code')!);
  return { browser, request, callback };
}

function keep<T extends oidc.TokenEndpointResponse>(tokens: T): T {
  for (const value of [tokens.access_token, tokens.refresh_token, tokens.id_token]) if (value) secrets.add(value);
  return tokens;
}

async function signedIn(rp: TestRp, username: string) {
  const { browser, request, callback } = await signIn(rp, username, '198.51.100.1');
  callsFrom(rp.config, '192.0.2.10');
  return { browser, tokens: keep(await redeem(rp, request, callback)) };
}

async function auditLog(): Promise<string> {
  return readFile(join(app.dataDir, 'audit.log'), 'utf8');
}

async function eventsOf(requestId: string): Promise<Event[]> {
  const events = (await auditLog()).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Event);
  return events.filter((event) => event.requestId === requestId).map(({ at: _at, ...event }) => event);
}

/** The one audit event of the last relying-party request, without its time. */
async function theEvent(): Promise<Event> {
  assert.ok(lastRequestId, 'the answer has an X-Request-Id');
  const events = await eventsOf(lastRequestId);
  assert.equal(events.length, 1, `exactly one event for the request: ${JSON.stringify(events)}`);
  return events[0]!;
}

async function refused(call: Promise<unknown>, error: string): Promise<void> {
  await assert.rejects(call, (thrown: oidc.ResponseBodyError | oidc.WWWAuthenticateChallengeError) => {
    const code = thrown instanceof oidc.WWWAuthenticateChallengeError ? thrown.cause[0]?.parameters.error : thrown.error;
    assert.equal(code, error);
    return true;
  });
}


test('a code exchange and a refresh: one success event each, with the client, the user, the address and the request', async () => {
  const rp = await newRp();
  const { request, callback } = await signIn(rp, 'alice', '198.51.100.1');
  callsFrom(rp.config, '192.0.2.10');
  const tokens = keep(await redeem(rp, request, callback));
  assert.deepEqual(await theEvent(), { type: 'oidc.token', outcome: 'success', rp: rp.client.id, userId: userIds.alice, username: 'alice', ip: '192.0.2.10', requestId: lastRequestId });

  callsFrom(rp.config, '192.0.2.11');
  keep(await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!));
  assert.deepEqual(await theEvent(), { type: 'oidc.refresh', outcome: 'success', rp: rp.client.id, userId: userIds.alice, username: 'alice', ip: '192.0.2.11', requestId: lastRequestId });
});

test('a code used twice revokes its grant: one oidc.token failure code-reuse naming the user, and the tokens issued from it stop working', async () => {
  const rp = await newRp();
  const { request, callback } = await signIn(rp, 'alice', '198.51.100.1');
  callsFrom(rp.config, '192.0.2.10');
  const tokens = keep(await redeem(rp, request, callback));

  callsFrom(rp.config, '203.0.113.66');
  await refused(redeem(rp, request, callback), 'invalid_grant');
  assert.deepEqual(await theEvent(), { type: 'oidc.token', outcome: 'failure', reason: 'code-reuse', grantRevoked: true, rp: rp.client.id, userId: userIds.alice, ip: '203.0.113.66', requestId: lastRequestId });

  callsFrom(rp.config, '192.0.2.10');
  await refused(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), 'invalid_grant');
  assert.deepEqual(await theEvent(), { type: 'oidc.refresh', outcome: 'failure', reason: 'invalid_grant', rp: rp.client.id, ip: '192.0.2.10', requestId: lastRequestId });
});

test('a rotated refresh token used again revokes the grant: one oidc.refresh failure refresh-token-reuse', async () => {
  const rp = await newRp();
  const { tokens } = await signedIn(rp, 'alice');
  const rotated = keep(await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!));

  callsFrom(rp.config, '203.0.113.66');
  await refused(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), 'invalid_grant');
  assert.deepEqual(await theEvent(), { type: 'oidc.refresh', outcome: 'failure', reason: 'refresh-token-reuse', grantRevoked: true, rp: rp.client.id, userId: userIds.alice, username: 'alice', ip: '203.0.113.66', requestId: lastRequestId });

  callsFrom(rp.config, '192.0.2.10');
  await refused(oidc.refreshTokenGrant(rp.config, rotated.refresh_token!), 'invalid_grant');
  assert.equal((await theEvent()).reason, 'invalid_grant', 'the current refresh token went with the grant');
});

test('a grant type Stepgate does not offer: an oidc.token failure naming it', async () => {
  const rp = await newRp();
  callsFrom(rp.config, '192.0.2.13');
  await refused(oidc.clientCredentialsGrant(rp.config), 'unsupported_grant_type');
  assert.deepEqual(await theEvent(), { type: 'oidc.token', outcome: 'failure', reason: 'unsupported_grant_type', grantType: 'client_credentials', rp: rp.client.id, ip: '192.0.2.13', requestId: lastRequestId });
});

test('a refresh refused by the access policy: one event, with the username of the SSO session it came from', async () => {
  const rp = await newRp();
  const { tokens } = await signedIn(rp, 'alice');
  assert.ok((await clientRegistry(app.services.store, app.services.box, app.services.clock).update(rp.client.id, { policy: 'deny-everyone' })).ok);
  callsFrom(rp.config, '192.0.2.12');
  await refused(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), 'invalid_grant');
  assert.deepEqual(await theEvent(), { type: 'oidc.refresh', outcome: 'failure', reason: 'policy', rp: rp.client.id, userId: userIds.alice, username: 'alice', ip: '192.0.2.12', requestId: lastRequestId });
});

test('client authentication failures: the client_id the request claimed, marked as claimed, at the token, revocation and introspection endpoints', async () => {
  const rp = await newRp();
  const { tokens } = await signedIn(rp, 'alice');
  const wrongSecret = impostor(rp, rp.client.id, `wrong-${randomBytes(8).toString('hex')}`, '203.0.113.11');

  await refused(oidc.refreshTokenGrant(wrongSecret, tokens.refresh_token!), 'invalid_client');
  assert.deepEqual(await theEvent(), { type: 'oidc.refresh', outcome: 'failure', reason: 'invalid_client', rp: rp.client.id, rpClaimed: true, ip: '203.0.113.11', requestId: lastRequestId });

  const unknown = `no-such-client-${randomBytes(4).toString('hex')}`;
  await refused(oidc.refreshTokenGrant(impostor(rp, unknown, `any-${randomBytes(8).toString('hex')}`, '203.0.113.12'), tokens.refresh_token!), 'invalid_client');
  assert.deepEqual(await theEvent(), { type: 'oidc.refresh', outcome: 'failure', reason: 'invalid_client', rp: unknown, rpClaimed: true, ip: '203.0.113.12', requestId: lastRequestId });

  await refused(oidc.tokenRevocation(wrongSecret, tokens.access_token), 'invalid_client');
  assert.deepEqual(await theEvent(), { type: 'oidc.revoke', outcome: 'failure', reason: 'invalid_client', rp: rp.client.id, rpClaimed: true, ip: '203.0.113.11', requestId: lastRequestId });

  await refused(oidc.tokenIntrospection(wrongSecret, tokens.access_token), 'invalid_client');
  assert.deepEqual(await theEvent(), { type: 'oidc.introspect', outcome: 'failure', reason: 'invalid_client', rp: rp.client.id, rpClaimed: true, ip: '203.0.113.11', requestId: lastRequestId });

  // The client's own requests still work, and a successful introspection is not audited.
  assert.equal((await oidc.tokenIntrospection(rp.config, tokens.access_token)).active, true);
  assert.deepEqual(await eventsOf(lastRequestId), []);
});

test('revocation: the kind of token and whose; another client\'s token is left alone; every token of the grant ends', async () => {
  const rp = await newRp();
  const other = await newRp();
  const first = await signedIn(rp, 'alice');
  callsFrom(other.config, '192.0.2.20');

  await oidc.tokenRevocation(other.config, first.tokens.access_token);
  assert.deepEqual(await theEvent(), { type: 'oidc.revoke', outcome: 'failure', reason: 'other-client-token', tokenKind: 'access_token', rp: other.client.id, userId: userIds.alice, ip: '192.0.2.20', requestId: lastRequestId });
  assert.equal((await oidc.tokenIntrospection(rp.config, first.tokens.access_token)).active, true, 'still active');

  await oidc.tokenRevocation(rp.config, first.tokens.refresh_token!);
  assert.deepEqual(await theEvent(), { type: 'oidc.revoke', outcome: 'success', tokenKind: 'refresh_token', rp: rp.client.id, userId: userIds.alice, ip: '192.0.2.10', requestId: lastRequestId });
  assert.equal((await oidc.tokenIntrospection(rp.config, first.tokens.access_token)).active, false, 'the access token went with it');

  await oidc.tokenRevocation(rp.config, first.tokens.refresh_token!);
  assert.deepEqual(await theEvent(), { type: 'oidc.revoke', outcome: 'success', reason: 'token-unknown', rp: rp.client.id, ip: '192.0.2.10', requestId: lastRequestId });

  const second = await signedIn(rp, 'alice');
  await oidc.tokenRevocation(rp.config, second.tokens.access_token);
  assert.deepEqual(await theEvent(), { type: 'oidc.revoke', outcome: 'success', tokenKind: 'access_token', rp: rp.client.id, userId: userIds.alice, ip: '192.0.2.10', requestId: lastRequestId });
  await refused(oidc.refreshTokenGrant(rp.config, second.tokens.refresh_token!), 'invalid_grant');
});

test('userinfo with a bad token: one failure with only the address and the request; a good one is not audited', async () => {
  const rp = await newRp();
  const { tokens } = await signedIn(rp, 'alice');
  callsFrom(rp.config, '203.0.113.30');
  await refused(oidc.fetchUserInfo(rp.config, `not-a-token-${randomBytes(8).toString('hex')}`, oidc.skipSubjectCheck), 'invalid_token');
  assert.deepEqual(await theEvent(), { type: 'oidc.userinfo', outcome: 'failure', reason: 'invalid_token', ip: '203.0.113.30', requestId: lastRequestId });

  await oidc.fetchUserInfo(rp.config, tokens.access_token, oidc.skipSubjectCheck);
  assert.deepEqual(await eventsOf(lastRequestId), []);
});

test('userinfo for an account disabled since the token was issued: the failure names the client and the user', async () => {
  const rp = await newRp();
  const { tokens } = await signedIn(rp, 'erin');
  await new LocalUserAdmin(app.services.store, app.services.config, app.services.clock).update('erin', { disabled: true });
  offset += 11_000; // past the directory answer's reuse time
  await refused(oidc.fetchUserInfo(rp.config, tokens.access_token, oidc.skipSubjectCheck), 'invalid_token');
  const events = await eventsOf(lastRequestId);
  assert.deepEqual(events.map((event) => event.type).sort(), ['oidc.userinfo', 'session.ended'], 'the gone account also ends its session');
  assert.deepEqual(events.find((event) => event.type === 'oidc.userinfo'), { type: 'oidc.userinfo', outcome: 'failure', reason: 'invalid_token', rp: rp.client.id, userId: userIds.erin, ip: '192.0.2.10', requestId: lastRequestId });
});

/** The back-channel logout events of one client, without their time. */
async function backchannelEvents(rp: TestRp): Promise<Event[]> {
  const events = (await auditLog()).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Event);
  return events.filter((event) => event.type === 'oidc.backchannel-logout' && event.rp === rp.client.id).map(({ at: _at, ...event }) => event);
}

test('RP-initiated logout: the logout event has the address, the back-channel event the username', async () => {
  const rp = await newRp({ backchannelLogoutUri: receiver.endpoint() });
  const { browser, tokens } = await signedIn(rp, 'bea');
  const confirm = await browser.get(oidc.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: rp.postLogoutRedirectUri }).toString());
  const done = await browser.submit(confirm, { logout: 'yes' });
  const requestId = done.headers.get('x-request-id')!;

  const [backchannel] = await until(() => backchannelEvents(rp), (events) => events.length > 0, 'the back-channel logout event');
  assert.deepEqual(backchannel, { type: 'oidc.backchannel-logout', outcome: 'success', rp: rp.client.id, userId: userIds.bea, username: 'bea', via: 'oidc-rp-initiated', requestId });
  const logouts = (await eventsOf(requestId)).filter((event) => event.type === 'logout');
  assert.deepEqual(logouts, [{ type: 'logout', outcome: 'success', userId: userIds.bea, username: 'bea', rp: rp.client.id, reason: 'oidc-rp-initiated', ip: '198.51.100.1', requestId }]);
});

test("Stepgate's logout page: the back-channel event names the user", async () => {
  const rp = await newRp({ backchannelLogoutUri: receiver.endpoint() });
  const { browser } = await signedIn(rp, 'carl');
  await browser.submit(await browser.get(`${app.url}/logout`), {}, '/logout');
  const events = (await auditLog()).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Event);
  const { requestId } = events.findLast((event) => event.type === 'logout' && event.userId === userIds.carl)!;
  assert.deepEqual(await backchannelEvents(rp), [{ type: 'oidc.backchannel-logout', outcome: 'success', rp: rp.client.id, userId: userIds.carl, username: 'carl', via: 'sso-logout', requestId }]);
});

test("an administrator's `session end`: the back-channel event says so (via admin) and names the user", async () => {
  const rp = await newRp({ backchannelLogoutUri: receiver.endpoint() });
  await signedIn(rp, 'dora');
  const ended = await cliProcess(app, SECRET_KEY, ['session', 'end', '--user', 'dora']);
  assert.equal(ended.code, 0, ended.err);
  const events = await until(() => backchannelEvents(rp), (found) => found.length > 0, 'the back-channel logout event');
  assert.deepEqual(events, [{ type: 'oidc.backchannel-logout', outcome: 'success', rp: rp.client.id, userId: userIds.dora, username: 'dora', via: 'admin' }]);
});

test('another person signing in on the same browser: the back-channel event says so', async () => {
  const rp = await newRp({ backchannelLogoutUri: receiver.endpoint() });
  const { browser } = await signedIn(rp, 'fred');
  const other = await newRp();
  // prompt=login: fred's session would answer by itself.
  const page = await browser.get((await authRequest(other, { prompt: 'login' })).url.toString());
  const answer = await browser.submit(page, { username: 'gina', password: PASSWORD });
  secrets.add(callbackOf(other, answer).searchParams.get('code')!);
  const events = await until(() => backchannelEvents(rp), (found) => found.length > 0, 'the back-channel logout event');
  assert.deepEqual(events, [{ type: 'oidc.backchannel-logout', outcome: 'success', rp: rp.client.id, userId: userIds.fred, username: 'fred', via: 'another-user-signed-in', requestId: answer.headers.get('x-request-id')! }]);
});

test('no token, code, client secret or session id is in the audit log', async () => {
  for (const entry of receiver.received) secrets.add(entry.token);
  for (const [id] of await app.services.store.kv.entries('oidc:Session')) secrets.add(id);
  const log = await auditLog();
  assert.ok(secrets.size > 40, `the tests saw ${secrets.size} secrets`);
  for (const secret of secrets) assert.ok(!log.includes(secret), `the audit log contains a secret (${secret.slice(0, 6)}…)`);
});
