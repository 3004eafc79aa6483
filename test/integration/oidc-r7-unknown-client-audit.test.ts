import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { authRequest, CALLBACK_BASE, createRp, createUser, isPasswordPage, rpBrowser, signIn } from '../helpers/oidc-rp.ts';
import { clientRegistry } from '../../src/oidc/client-registry.ts';
import { ROUTES } from '../../src/oidc/provider.ts';
import { AUDIT_FAILURES_PER_IP } from '../../src/store/audit-throttle.ts';

const PASSWORD = 'correct horse 42';
let app: Booted;

before(async () => {
  // Requests come "through a proxy" at 127.0.0.1, so each test can send from its own address.
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] } });
  await createUser(app, { username: 'alice', password: PASSWORD });
});
after(() => app?.close());

const from = (ip: string) => ({ 'x-forwarded-for': ip });

function authorizationFor(clientId: string): string {
  const query = new URLSearchParams({ client_id: clientId, response_type: 'code', scope: 'openid', redirect_uri: `${CALLBACK_BASE}x/callback`, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
  return `${app.url}${ROUTES.authorization}?${query}`;
}

async function signInEvents(ip: string) {
  return (await app.services.store.audit.query({ types: ['oidc.sign-in'], ip })).events;
}

test('an authorization request for an unknown client_id is audited as a refused sign-in, with the client_id it named', async () => {
  const page = await new TestBrowser().get(authorizationFor('nosuchclient123'), { headers: from('203.0.113.21') });
  assert.equal(page.status, 400);
  assert.match(page.body, /Unknown application/);
  const [event, ...more] = await signInEvents('203.0.113.21');
  assert.equal(more.length, 0);
  assert.deepEqual({ ...event, at: undefined, requestId: undefined }, { type: 'oidc.sign-in', outcome: 'failure', reason: 'rp-unknown', rp: 'nosuchclient123', rpClaimed: true, ip: '203.0.113.21', at: undefined, requestId: undefined });
  assert.ok(event?.requestId);
});

test('a flood of requests for unknown clients is throttled in the audit log like other anonymous failures', async () => {
  const browser = new TestBrowser();
  for (let i = 0; i < AUDIT_FAILURES_PER_IP + 10; i++) await browser.get(authorizationFor(`guess-${i}`), { headers: from('203.0.113.22') });
  assert.equal((await signInEvents('203.0.113.22')).length, AUDIT_FAILURES_PER_IP);
});

test('a sign-in whose client was removed before the user cancelled is audited, and nothing goes to the client', async () => {
  const rp = await createRp(app);
  const browser = rpBrowser();
  const passwordPage = await browser.get((await authRequest(rp)).url.toString(), { headers: from('203.0.113.23') });
  assert.ok(isPasswordPage(passwordPage));
  assert.ok(await clientRegistry(app.services.store, app.services.box, app.services.clock).remove(rp.client.id));

  const answer = await browser.submit(passwordPage, {}, '/cancel', from('203.0.113.23'));
  assert.equal(answer.status, 400);
  assert.match(answer.body, /Unknown application/);
  assert.ok(!browser.history.some((url) => url.startsWith(CALLBACK_BASE)));
  const event = (await signInEvents('203.0.113.23')).at(-1);
  assert.equal(event?.outcome, 'failure');
  assert.equal(event?.reason, 'rp-removed');
  assert.equal(event?.rp, rp.client.id);
});

test('userinfo with the access token of a removed client is audited under that client', async () => {
  const rp = await createRp(app);
  const { tokens } = await signIn(rp, rpBrowser(), { username: 'alice', password: PASSWORD });
  assert.ok(await clientRegistry(app.services.store, app.services.box, app.services.clock).remove(rp.client.id));
  const answer = await fetch(`${app.url}${ROUTES.userinfo}`, { headers: { authorization: `Bearer ${tokens.access_token}`, ...from('203.0.113.24') } });
  assert.equal(answer.status, 401);
  const event = (await app.services.store.audit.query({ types: ['oidc.userinfo'], rp: rp.client.id })).events.at(-1);
  assert.equal(event?.reason, 'invalid_token');
  assert.equal(event?.ip, '203.0.113.24');
  assert.equal(event?.userId, tokens.claims()!.sub);
  assert.equal(event?.rpClaimed, undefined, 'the client the token was issued to, not one the caller named');
});
