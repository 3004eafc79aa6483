import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { authRequest, createRp, createUser, rpBrowser, signIn, stored } from '../helpers/oidc-rp.ts';
import { TestSp } from '../helpers/saml-sp.ts';

let now = Date.parse('2026-11-23T10:00:00Z');
const clock = { now: () => now };
let app: Booted;

before(async () => {
  // Behind a trusted proxy (the test itself), so a request can come from any address.
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] }, regulation: { signInStartsPerIpPerMinute: 3 } }, { clock });
});
after(() => app?.close());

const start = (forwardedFor?: string) => fetch(`${app.url}/account/security`, { headers: { accept: 'text/html', ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }) } });

test('one client IP starts at most signInStartsPerIpPerMinute sign-ins; the bucket refills at that rate', async () => {
  const held = () => app.services.store.kv.count('login-tx');
  for (let i = 0; i < 3; i++) assert.equal((await start()).status, 200, `start ${i + 1}`);
  const before = await held();
  const refused = await start();
  assert.equal(refused.status, 429);
  const page = await refused.text();
  assert.match(page, /Too many attempts/);
  assert.match(page, /Too many sign-ins were started from your network in a short time\. Wait a minute, then go back to the application and start again\./, 'says how long, and what to do then');
  assert.equal(await held(), before, 'a refused start holds nothing in memory');
  assert.ok(app.logs.some((line) => line.code === 'RATE_LIMITED' && (line.detail as { reason?: string }).reason === 'sign-in-starts-per-ip'));
  now += 20_000; // 3 a minute: one more every 20 s
  assert.equal((await start()).status, 200);
  assert.equal((await start()).status, 429);
});

test('a clock set back does not drain the bucket', async () => {
  now += 120_000;
  assert.equal((await start()).status, 200, 'refilled: two starts left after this one');
  const setBack = now;
  now -= 3_600_000;
  assert.equal((await start()).status, 200, 'an hour back: still the tokens it had');
  now = setBack;
});

test('an OIDC authorization request refused by the start limit leaves no oidc-provider interaction behind', async () => {
  now += 120_000;
  const rp = await createRp(app);
  const authorize = async () => rpBrowser().get((await authRequest(rp)).url.toString());
  for (let i = 0; i < 3; i++) assert.equal((await authorize()).status, 200, `start ${i + 1}`);
  const interactions = await stored(app, 'Interaction');
  const refused = await authorize();
  assert.equal(refused.status, 429);
  assert.match(refused.body, /Too many attempts/);
  assert.equal(await stored(app, 'Interaction'), interactions, 'the refused request holds no interaction for 15 minutes');
});

test('a SAML sign-in refused by the start limit leaves no pending SAML sign-in behind', async () => {
  now += 120_000;
  const sp = await TestSp.create(app, { name: 'limited', signRequests: false });
  const idpInitiated = () => rpBrowser().get(`${app.url}/saml/idp-init?sp=${encodeURIComponent(sp.entityId)}`);
  for (let i = 0; i < 3; i++) assert.equal((await idpInitiated()).status, 200, `start ${i + 1}`);
  const pending = await app.services.store.kv.count('saml-pending');
  const refused = await idpInitiated();
  assert.equal(refused.status, 429);
  assert.equal(await app.services.store.kv.count('saml-pending'), pending, 'the refused request holds no pending sign-in for 15 minutes');
});

test('an IPv6 client is counted by its /64: a fresh address in it finds the same bucket', async () => {
  now += 120_000;
  for (const ip of ['2001:db8:5:6::1', '2001:db8:5:6::2', '2001:db8:5:6:abcd::3']) assert.equal((await start(ip)).status, 200, ip);
  assert.equal((await start('2001:db8:5:6:1:2:3:4')).status, 429);
  assert.equal((await start('2001:db8:5:7::1')).status, 200, 'the next /64 is another client');
});

test('an OIDC authorization request the SSO session answers without a page takes a start too, as a SAML one does', async () => {
  now += 120_000;
  const rp = await createRp(app);
  const password = 'a-long-Passw0rd-reuse';
  await createUser(app, { username: 'reuser', password });
  const browser = rpBrowser();
  await signIn(rp, browser, { username: 'reuser', password });
  const reuse = async () => browser.get((await authRequest(rp)).url.toString());
  for (let i = 0; i < 2; i++) assert.equal((await reuse()).status, 303, `reuse ${i + 1}: straight back to the application`);
  const successes = async () => (await app.services.store.audit.query({ limit: 1000 })).events.filter((event) => event.type === 'oidc.sign-in' && event.outcome === 'success').length;
  const written = await successes();
  const refused = await reuse();
  assert.equal(refused.status, 429, 'the sign-in and two reuses took the three starts of the minute');
  assert.match(refused.body, /Too many sign-ins were started from your network in a short time/);
  assert.equal(await successes(), written, 'a refused reuse writes no success');
  now += 20_000;
  assert.equal((await reuse()).status, 303, 'refilled');
});

test('an authorization request at /oidc/auth/, which oidc-provider routes as /oidc/auth, takes a start too; a form POST of one takes one start, not two', async () => {
  now += 120_000;
  const rp = await createRp(app);
  const password = 'a-long-Passw0rd-slash';
  await createUser(app, { username: 'slasher', password });
  const browser = rpBrowser();
  await signIn(rp, browser, { username: 'slasher', password });
  const withSlash = async () => {
    const url = (await authRequest(rp)).url;
    url.pathname = '/oidc/auth/';
    return browser.get(url.toString());
  };
  for (let i = 0; i < 2; i++) assert.equal((await withSlash()).status, 303, `reuse ${i + 1} at /oidc/auth/`);
  assert.equal((await withSlash()).status, 429, 'the sign-in and two reuses took the three starts of the minute');

  now += 120_000;
  const posted = async () => {
    const url = (await authRequest(rp)).url;
    const form = new URLSearchParams(url.searchParams);
    url.search = '';
    return browser.request(url.toString(), { method: 'POST', body: form });
  };
  for (let i = 0; i < 3; i++) assert.equal((await posted()).status, 303, `form POST ${i + 1}: its GET goes straight back to the application`);
  assert.equal((await posted()).status, 429);
});
