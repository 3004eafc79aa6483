import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { authRequest, createRp, createUser, redeem, rpBrowser, type TestRp } from '../helpers/oidc-rp.ts';
import { ROUTES } from '../../src/oidc/provider.ts';
import { AUDIT_FAILURES_PER_IP } from '../../src/store/audit-throttle.ts';
import type { AuditEvent } from '../../src/store/store.ts';

/**
 * Authorization and end-session requests of a registered client that oidc-provider refuses (a
 * foreign redirect URI, a PKCE downgrade, what Stepgate does not support; a foreign post-logout
 * URI, another client's id_token_hint, a stale confirmation) are audited like the unknown client
 * and SAML's ACS_NOT_REGISTERED: once each, with the reason, the client, the IP and the request id,
 * and throttled per IP like every anonymous failure.
 */
const ALICE = { username: 'alice', password: 'correct horse 42' };
const FOREIGN = 'https://evil.example.net/cb';
let app: Booted;
let aliceId: string;
let confidential: TestRp;
let publicRp: TestRp;
let ipCounter = 0;

before(async () => {
  // Requests come "through a proxy" at 127.0.0.1, so each case can send from its own address.
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] } });
  aliceId = await createUser(app, ALICE);
  confidential = await createRp(app);
  publicRp = await createRp(app, { public: true });
});
after(() => app?.close());

/** A fresh client address per case: its events are the case's alone. */
function nextIp(): string {
  ipCounter += 1;
  return `198.51.100.${ipCounter}`;
}

const from = (ip: string) => ({ 'x-forwarded-for': ip });

async function eventsFrom(ip: string): Promise<AuditEvent[]> {
  return (await app.services.store.audit.query({ ip, limit: 500 })).events;
}

/** The one audit event a refused request from `ip` left, without its time. */
async function onlyEvent(ip: string, what: string): Promise<Omit<AuditEvent, 'at'>> {
  const events = await eventsFrom(ip);
  assert.equal(events.length, 1, `${what}: one event, got ${JSON.stringify(events)}`);
  const { at: _at, ...event } = events[0]!;
  assert.equal(typeof event.requestId, 'string', `${what}: with the request id`);
  return event;
}

async function authorizationUrl(rp: TestRp, params: Record<string, string>): Promise<string> {
  const url = (await authRequest(rp)).url;
  for (const [name, value] of Object.entries(params)) {
    if (value === '') url.searchParams.delete(name);
    else url.searchParams.set(name, value);
  }
  return url.toString();
}

/** The error the client was sent to its redirect URI: in the query, or in the fragment for a response_type that would use one. */
function refusedAtClient(rp: TestRp, page: Page): string | null {
  const location = page.headers.get('location');
  if (!location?.startsWith(rp.redirectUri)) return null;
  const url = new URL(location);
  return url.searchParams.get('error') ?? new URLSearchParams(url.hash.slice(1)).get('error');
}

test('an authorization request of a registered client for a redirect URI it does not have: error page, oidc.sign-in failure redirect-uri-not-registered', async () => {
  const cases: Array<Record<string, string>> = [{ redirect_uri: FOREIGN }, { redirect_uri: FOREIGN, response_type: 'token' }, { redirect_uri: `${confidential.redirectUri}/` }];
  for (const params of cases) {
    const ip = nextIp();
    const page = await rpBrowser().get(await authorizationUrl(confidential, params), { headers: from(ip) });
    assert.equal(page.status, 400, JSON.stringify(params));
    assert.match(page.body, /Unknown return address/);
    const event = await onlyEvent(ip, JSON.stringify(params));
    assert.deepEqual({ ...event, requestId: undefined }, { type: 'oidc.sign-in', outcome: 'failure', reason: 'redirect-uri-not-registered', rp: confidential.client.id, ip, requestId: undefined }, JSON.stringify(params));
  }
});

test('PKCE downgrades and requests Stepgate does not support are audited with the OAuth error the client is sent', async () => {
  const cases: Array<[TestRp, Record<string, string>, string]> = [
    [publicRp, { code_challenge: '', code_challenge_method: '' }, 'invalid_request'],
    [publicRp, { code_challenge_method: 'plain' }, 'invalid_request'],
    [publicRp, { code_challenge_method: '' }, 'invalid_request'],
    [confidential, { response_type: 'token' }, 'unsupported_response_type'],
    [confidential, { response_type: 'code id_token' }, 'unsupported_response_type'],
    [confidential, { request: 'eyJhbGciOiJub25lIn0.e30.' }, 'request_not_supported'],
    [confidential, { request_uri: 'https://evil.example.net/request.jwt' }, 'request_uri_not_supported'],
    [confidential, { registration: '{}' }, 'registration_not_supported'],
    [confidential, { resource: 'https://api.example.org/' }, 'invalid_target'],
  ];
  for (const [rp, params, error] of cases) {
    const ip = nextIp();
    const page = await rpBrowser().get(await authorizationUrl(rp, params), { headers: from(ip) });
    assert.equal(refusedAtClient(rp, page), error, `${JSON.stringify(params)}: ${page.status} ${page.headers.get('location')}`);
    const event = await onlyEvent(ip, JSON.stringify(params));
    assert.deepEqual([event.type, event.outcome, event.reason, event.rp, event.ip, event.rpClaimed], ['oidc.sign-in', 'failure', error, rp.client.id, ip, undefined], JSON.stringify(params));
  }
});

test("prompt=none without a session is the protocol's answer, not a refusal: not audited, so silent renews do not use up an address's audit budget", async () => {
  const ip = nextIp();
  for (let i = 0; i < 3; i++) {
    const page = await rpBrowser().get(await authorizationUrl(confidential, { prompt: 'none' }), { headers: from(ip) });
    assert.equal(refusedAtClient(confidential, page), 'login_required');
  }
  assert.deepEqual(await eventsFrom(ip), []);
});

test('a flood of authorization requests with foreign redirect URIs is throttled in the audit log like other anonymous failures', async () => {
  const ip = nextIp();
  const browser = new TestBrowser();
  for (let i = 0; i < AUDIT_FAILURES_PER_IP + 10; i++) await browser.get(await authorizationUrl(confidential, { redirect_uri: `https://evil-${i}.example.net/cb` }), { headers: from(ip) });
  const signIns = (await eventsFrom(ip)).filter((event) => event.type === 'oidc.sign-in');
  assert.equal(signIns.length, AUDIT_FAILURES_PER_IP);
});

/** Signs alice in to `rp` in a new browser; the browser and her ID Token. */
async function signedIn(rp: TestRp): Promise<{ browser: TestBrowser; idToken: string }> {
  const browser = rpBrowser();
  const request = await authRequest(rp);
  const answer = await browser.submit(await browser.get(request.url.toString()), ALICE);
  const tokens = await redeem(rp, request, new URL(answer.headers.get('location')!));
  return { browser, idToken: tokens.id_token! };
}

test('an RP-initiated logout to a post-logout URI the client does not have: error page, oidc.logout failure post-logout-redirect-uri-not-registered, with the account still signed in', async () => {
  const { browser, idToken } = await signedIn(confidential);
  const ip = nextIp();
  const page = await browser.get(oidc.buildEndSessionUrl(confidential.config, { id_token_hint: idToken, post_logout_redirect_uri: FOREIGN }).toString(), { headers: from(ip) });
  assert.equal(page.status, 400);
  const event = await onlyEvent(ip, 'foreign post-logout URI');
  assert.deepEqual({ ...event, requestId: undefined }, { type: 'oidc.logout', outcome: 'failure', reason: 'post-logout-redirect-uri-not-registered', rp: confidential.client.id, userId: aliceId, ip, requestId: undefined });
});

test("an RP-initiated logout naming one client with another client's id_token_hint: oidc.logout failure id-token-hint-other-client, under the client it named", async () => {
  const { browser, idToken } = await signedIn(confidential);
  const ip = nextIp();
  const query = new URLSearchParams({ id_token_hint: idToken, client_id: publicRp.client.id });
  const page = await browser.get(`${app.url}${ROUTES.end_session}?${query}`, { headers: from(ip) });
  assert.equal(page.status, 400);
  const event = await onlyEvent(ip, 'hint of another client');
  assert.deepEqual([event.type, event.outcome, event.reason, event.rp, event.rpClaimed, event.userId], ['oidc.logout', 'failure', 'id-token-hint-other-client', publicRp.client.id, true, aliceId]);
});

test('a sign-out confirmation replaced by a newer one, or posted without its xsrf value: oidc.logout failure confirmation-invalid, once', async () => {
  const { browser } = await signedIn(confidential);
  const older = await browser.get(`${app.url}${ROUTES.end_session}`);
  await browser.get(`${app.url}${ROUTES.end_session}`);
  const forms: Array<Record<string, string>> = [{ logout: 'yes' }, { logout: 'yes', xsrf: '' }];
  for (const fields of forms) {
    const ip = nextIp();
    const refused = await browser.submit(older, fields, undefined, from(ip));
    assert.equal(refused.status, 400);
    const event = await onlyEvent(ip, JSON.stringify(fields));
    assert.deepEqual([event.type, event.outcome, event.reason, event.userId], ['oidc.logout', 'failure', 'confirmation-invalid', aliceId], JSON.stringify(fields));
  }
});

test('a flood of refused logouts is throttled in the audit log like other anonymous failures', async () => {
  const ip = nextIp();
  const browser = new TestBrowser();
  const query = new URLSearchParams({ client_id: confidential.client.id, post_logout_redirect_uri: FOREIGN });
  for (let i = 0; i < AUDIT_FAILURES_PER_IP + 10; i++) await browser.get(`${app.url}${ROUTES.end_session}?${query}`, { headers: from(ip) });
  const logouts = (await eventsFrom(ip)).filter((event) => event.type === 'oidc.logout');
  assert.equal(logouts.length, AUDIT_FAILURES_PER_IP);
  assert.ok(logouts.every((event) => event.reason === 'post-logout-redirect-uri-not-registered'));
});
