import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request } from '../helpers/login-request.ts';

/**
 * With no server.trustedProxies (the default), no request comes through a proxy: an X-Forwarded-For is
 * the client's own writing and is ignored. The address that policies, the audit log, the session and
 * the per-address limits see is the socket's, whatever the header says; otherwise any client could
 * claim an office address, forge its audit trail, or get a fresh rate-limit bucket per request.
 */
const PASSWORD = 'Correct-horse-42';
const SOCKET_IP = '127.0.0.1';
const CLAIMED = '203.0.113.9';
let app: Booted;

before(async () => {
  app = await boot({ directory: { kind: 'local' } });
  assert.deepEqual(app.services.config.server.trustedProxies, [], 'the default: no trusted proxy');
  await addLocalUser(app.services, 'alice', PASSWORD);
  const officeOnly = await app.services.policies.save({ name: 'office-only', rules: [{ when: { networks: ['203.0.113.0/24'] }, then: { effect: 'permit' } }, { then: { effect: 'deny', message: 'Only from the office.' } }] });
  assert.ok(officeOnly.ok, JSON.stringify(officeOnly));
  const noLoopback = await app.services.policies.save({ name: 'no-loopback', rules: [{ when: { networks: ['127.0.0.0/8'] }, then: { effect: 'deny', message: 'Not from this host.' } }, { then: { effect: 'permit' } }] });
  assert.ok(noLoopback.ok, JSON.stringify(noLoopback));
});
after(() => app?.close());

/** A sign-in to an application under `policy`, every request carrying X-Forwarded-For: `forwarded`; the answer to the password. */
async function signIn(username: string, password: string, forwarded: string, policy?: string, idp: Booted = app): Promise<{ txId: string; answer: Page; browser: TestBrowser }> {
  const browser = new TestBrowser();
  const headers = { 'x-forwarded-for': forwarded };
  const tx = await idp.services.interaction.deps.transactions.create(request({ rp: { allowPasswordChange: true, ...(policy ? { policy } : {}) } }));
  const page = await browser.get(`${idp.url}/login/${tx.id}`, { headers });
  return { txId: tx.id, browser, answer: await browser.submit(page, { username, password }, undefined, headers) };
}

async function lastPasswordEvent(idp: Booted = app): Promise<Record<string, unknown>> {
  return (await idp.services.store.audit.query({ types: ['login.password'], limit: 1 })).events[0]!;
}

test('the audit log and the session record the socket address, not the X-Forwarded-For the client wrote', async () => {
  for (const forwarded of [CLAIMED, `${CLAIMED}, 10.0.0.1`, '2001:db8::9']) {
    const mark = app.logs.length;
    assert.equal((await signIn('nobody', 'wrong-password-1', forwarded)).answer.status, 401);
    assert.equal((await lastPasswordEvent()).ip, SOCKET_IP, forwarded);
    assert.deepEqual(app.logs.slice(mark).filter((line) => String(line.code ?? '').startsWith('FORWARDED_FOR')), [], `${forwarded}: no proxy warnings, the header is simply not read`);
  }
  const { answer, browser } = await signIn('alice', PASSWORD, CLAIMED);
  assert.match(answer.url, /\/resume\?tx=/);
  assert.equal((await lastPasswordEvent()).ip, SOCKET_IP);
  const session = await app.services.sessions.byId(browser.cookies.get(new URL(app.url).host)!.get('sg_session')!);
  assert.equal(session?.signInIp, SOCKET_IP);
});

test('a policy network condition is judged on the socket address: claiming an office address neither admits nor escapes a rule', async () => {
  const office = await signIn('alice', PASSWORD, CLAIMED, 'office-only');
  assert.equal(office.answer.status, 403, 'not admitted by the claimed office address');
  assert.match(office.answer.body, /Only from the office\./);
  assert.notEqual(app.finished.get(office.txId)?.ok, true);

  const loopback = await signIn('alice', PASSWORD, CLAIMED, 'no-loopback');
  assert.equal(loopback.answer.status, 403, 'the deny rule for the real address still applies');
  assert.match(loopback.answer.body, /Not from this host\./);
  assert.notEqual(app.finished.get(loopback.txId)?.ok, true);
});

test('the per-address failure limit counts the socket address, whatever X-Forwarded-For each guess carries', async () => {
  // An IdP of its own: the limit locks the tests' only client address out of password sign-ins.
  const limited = await boot({ directory: { kind: 'local' }, regulation: { maxFailuresPerIp: 3, maxFailuresPerUser: 100 } });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await signIn(`guess-${i}`, 'wrong-password-1', `198.51.100.${i + 1}`, undefined, limited)).answer.status, 401);
    const refused = await signIn('guess-9', 'wrong-password-1', '198.51.100.99', undefined, limited);
    assert.equal(refused.answer.status, 429, 'over the limit of 3 for this one client');
    const event = await lastPasswordEvent(limited);
    assert.deepEqual([event.reason, event.ip], ['rate-limited-ip', SOCKET_IP]);
  } finally {
    await limited.close();
  }
});
