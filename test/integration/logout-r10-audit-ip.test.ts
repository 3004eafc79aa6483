import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { parseForms } from '../helpers/browser.ts';
import { createRp, createUser, rpBrowser, signIn, type TestRp } from '../helpers/oidc-rp.ts';

/**
 * The `logout` audit event of Stepgate's own sign-out (POST /logout) names the client's address as the
 * trusted proxy forwarded it, in the one stored spelling, and the request it came from (X-Request-Id).
 * Without an ip the event would also escape the audit throttle.
 */
const ALICE = { username: 'alice', password: 'correct horse 1' };
let app: Booted;
let rp: TestRp;

before(async () => {
  app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] } });
  await createUser(app, ALICE);
  rp = await createRp(app);
});
after(() => app?.close());

test('POST /logout audits logout/success with the forwarded client ip and the request id', async () => {
  for (const [forwarded, stored] of [
    ['203.0.113.7', '203.0.113.7'],
    ['2001:DB8:0:0::7', '2001:db8::7'],
  ]) {
    const browser = rpBrowser();
    await signIn(rp, browser, ALICE);
    const headers = { 'x-forwarded-for': forwarded };
    const confirm = await browser.get(`${app.url}/logout`, { headers });
    const form = parseForms(confirm.body, confirm.url).find((candidate) => candidate.action.includes('/logout'));
    assert.ok(form, 'the sign-out form');
    const answer = await browser.request(form.action, { method: 'POST', body: new URLSearchParams(form.fields), headers, followRedirects: false });
    assert.equal(answer.status, 303);
    const requestId = answer.headers.get('x-request-id');
    assert.ok(requestId);

    const [event] = (await app.services.store.audit.query({ types: ['logout'], limit: 1 })).events;
    assert.deepEqual(
      { type: event?.type, outcome: event?.outcome, username: event?.username, ip: event?.ip, requestId: event?.requestId },
      { type: 'logout', outcome: 'success', username: 'alice', ip: stored, requestId },
      forwarded,
    );
  }
});
