import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, parseForms, type Page } from '../helpers/browser.ts';
import { createUser } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { signInToMfaApp, toCodePage } from '../helpers/mfa-app-sign-in.ts';
import { request as loginRequest } from '../helpers/login-request.ts';
import { mintBootstrapSecretIfNeeded } from '../../src/admin/bootstrap.ts';

/**
 * Every refused attempt at a password, a code or the bootstrap secret has one operational line with
 * the request id, an `event`, the reason and the user, never what was typed: info for an ordinary
 * mistake (as `ldap.auth.refused`), warn for a code used before, a lock reached or a rate limit hit.
 */

const PASSWORD = 'correct horse 42';
let now = Date.parse('2026-11-22T10:00:15Z');
const clock = { now: () => now };
let app: Booted;

before(async () => {
  app = await boot({ mfa: { totp: { maxFailures: 3, autoUnlockMinutes: 15 } }, regulation: { maxFailuresPerUser: 3, maxFailuresPerIp: 1000 } }, { clock });
});
after(() => app?.close());

type LogLine = Record<string, unknown>;

/** Sends `page`'s form with `fields`, not following the answer's redirect: the answer's request id is the refused request's. */
async function sendForm(browser: TestBrowser, page: Page, fields: Record<string, string>): Promise<{ answer: Page; reqId: string }> {
  const form = parseForms(page.body, page.url)[0]!;
  const answer = await browser.request(form.action, { method: 'POST', body: new URLSearchParams({ ...form.fields, ...fields }), followRedirects: false });
  return { answer, reqId: answer.headers.get('x-request-id')! };
}

/** The lines with `event`, written for the request `reqId`. */
const linesOf = (event: string, reqId: string): LogLine[] => app.logs.filter((line) => line.event === event && line.reqId === reqId);

/** The one line of `event` for `reqId`, checked not to hold `typed`. */
function onlyLine(event: string, reqId: string, typed: string): LogLine {
  const lines = linesOf(event, reqId);
  assert.equal(lines.length, 1, `one ${event} line for ${reqId}: ${JSON.stringify(app.logs.filter((line) => line.reqId === reqId))}`);
  assert.ok(!JSON.stringify(lines[0]).includes(typed), `${event}: never what was typed`);
  return lines[0]!;
}

/** A code of `secret` now that is not the right one (the next one along). */
const wrongCode = (secret: string) => String((Number(oathtoolTotp(secret, now)) + 1) % 1_000_000).padStart(6, '0');

test('a wrong setup code: one info line login.mfa-setup.refused with the user', async () => {
  const userId = await createUser(app, { username: 'carol', password: PASSWORD });
  const browser = new TestBrowser();
  const { page } = await signInToMfaApp(app, browser, { username: 'carol', password: PASSWORD });
  const secret = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.body)![1]!.replace(/ /g, '');
  const code = wrongCode(secret);
  const { answer, reqId } = await sendForm(browser, page, { code });
  assert.equal(answer.status, 303);
  const line = onlyLine('login.mfa-setup.refused', reqId, code);
  assert.deepEqual([line.level, line.reason, line.userId, line.method], [30, 'invalid', userId, 'totp']);
});

test('second factor: a replayed code is a warning, a wrong one info, the one that reaches the lock a warning', async () => {
  const userId = await createUser(app, { username: 'dave', password: PASSWORD });
  const user = (await app.services.directory.findUserById(userId))!;
  const { totp } = app.services.mfa;
  const view = await totp.enrollment.begin({ user, sessionId: 'set-up-elsewhere' });
  const used = oathtoolTotp(view.secret, now);
  assert.ok((await totp.enrollment.finish({ user, sessionId: 'set-up-elsewhere', ip: '127.0.0.1' }, used)).ok);

  const { browser, page } = await toCodePage(app, { username: 'dave', password: PASSWORD });
  const replayed = await sendForm(browser, page, { code: used });
  const replayLine = onlyLine('login.mfa.refused', replayed.reqId, used);
  assert.deepEqual([replayLine.level, replayLine.reason, replayLine.userId, replayLine.method], [40, 'replayed', userId, 'totp']);

  now += 30_000;
  const reasons: Array<[unknown, unknown, unknown]> = [];
  for (let attempt = 0; attempt < 3 && !reasons.some(([, , started]) => started !== undefined); attempt++) {
    const code = wrongCode(view.secret);
    const { reqId } = await sendForm(browser, (await browser.get(page.url)), { code });
    const line = onlyLine('login.mfa.refused', reqId, code);
    assert.equal(line.userId, userId);
    reasons.push([line.level, line.reason, line.lockStarted]);
  }
  assert.deepEqual(reasons[0], [30, 'invalid', undefined], 'an ordinary wrong code: info');
  assert.deepEqual([reasons.at(-1)![0], reasons.at(-1)![2]], [40, ['method']], 'the wrong code that locks the method: a warning');
});

test('bootstrap: a wrong secret is a warning, the first administrator an info line; neither holds a secret or password', async () => {
  const secret = (await mintBootstrapSecretIfNeeded(app.services.store, now))!;
  const browser = new TestBrowser();
  const form = await browser.get(`${app.url}/admin/bootstrap`);
  const values = { username: 'root-admin', password: 'Very-long-admin-pass-1', confirmPassword: 'Very-long-admin-pass-1' };
  const wrong = await sendForm(browser, form, { ...values, secret: 'guessed-secret-value' });
  assert.equal(wrong.answer.status, 403);
  const refused = onlyLine('admin.bootstrap.refused', wrong.reqId, 'guessed-secret-value');
  assert.deepEqual([refused.level, refused.reason], [40, 'wrong-secret']);
  assert.ok(!JSON.stringify(refused).includes(values.password));

  const right = await sendForm(browser, await browser.get(`${app.url}/admin/bootstrap`), { ...values, secret });
  assert.equal(right.answer.status, 200);
  const created = onlyLine('admin.bootstrap.created', right.reqId, secret);
  assert.deepEqual([created.level, created.username], [30, 'root-admin']);
  assert.ok(!JSON.stringify(created).includes(values.password));
});

// The two below need the login.password.refused lines of src/login/steps/password.ts (see the report).

test('password step: a malformed (oversized) username is one info line, cut, without the password', async () => {
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create(loginRequest());
  const login = await browser.get(`${app.url}/login/${tx.id}`);
  const { answer, reqId } = await sendForm(browser, login, { username: 'x'.repeat(5000), password: 'typed-password-1' });
  assert.equal(answer.status, 303);
  const line = onlyLine('login.password.refused', reqId, 'typed-password-1');
  assert.deepEqual([line.level, line.reason], [30, 'malformed']);
  assert.ok(JSON.stringify(line).length < 1000, 'the typed name is cut');
});

test('password step: a sign-in refused by the lock after too many wrong passwords is a warning naming the lock', async () => {
  const userId = await createUser(app, { username: 'erin', password: PASSWORD });
  const browser = new TestBrowser();
  let refusedByLock: { answer: Page; reqId: string } | undefined;
  for (let attempt = 0; attempt < 5 && !refusedByLock; attempt++) {
    const tx = await app.services.interaction.deps.transactions.create(loginRequest());
    const sent = await sendForm(browser, await browser.get(`${app.url}/login/${tx.id}`), { username: 'erin', password: `wrong-password-${attempt}` });
    if ((await browser.get(new URL(sent.answer.headers.get('location')!, sent.answer.url).toString())).status === 429) refusedByLock = sent;
  }
  assert.ok(refusedByLock, 'the lock refused a sign-in');
  const line = onlyLine('login.password.refused', refusedByLock.reqId, 'wrong-password');
  assert.equal(line.level, 40);
  assert.match(String(line.reason), /^rate-limited-/);
  assert.equal(line.login, 'erin');
  assert.ok(line.userId === undefined || line.userId === userId);
});

test('password step, local directory: a wrong password is one info line local.auth.refused with the user, as ldap.auth.refused is for LDAP', async () => {
  const userId = await createUser(app, { username: 'frank', password: PASSWORD });
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create(loginRequest());
  const { answer, reqId } = await sendForm(browser, await browser.get(`${app.url}/login/${tx.id}`), { username: 'frank', password: 'not-franks-password' });
  assert.equal(answer.status, 303);
  const line = onlyLine('local.auth.refused', reqId, 'not-franks-password');
  assert.deepEqual([line.level, line.reason, line.userId, line.login], [30, 'wrong-password', userId, 'frank']);
  const unknown = await sendForm(browser, await browser.get(`${app.url}/login/${(await app.services.interaction.deps.transactions.create(loginRequest())).id}`), { username: 'nobody-here', password: 'whatever-1' });
  assert.equal(onlyLine('local.auth.refused', unknown.reqId, 'whatever-1').reason, 'no-such-user-or-no-password');
});

test('a wrong setup code on "My security" is the same info line login.mfa-setup.refused as during a sign-in', async () => {
  const userId = await createUser(app, { username: 'gina', password: PASSWORD });
  const browser = new TestBrowser();
  const login = await browser.get(`${app.url}/account/security`);
  await browser.submit(login, { username: 'gina', password: PASSWORD });
  const setup = await browser.get(`${app.url}/account/security/totp`);
  const secret = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(setup.body)![1]!.replace(/ /g, '');
  const code = wrongCode(secret);
  const { reqId } = await sendForm(browser, setup, { code });
  const line = onlyLine('login.mfa-setup.refused', reqId, code);
  assert.deepEqual([line.level, line.reason, line.userId, line.method], [30, 'invalid', userId, 'totp']);
});

test('password step: with no password, the malformed line leaves out what was typed as the username (it may be the password)', async () => {
  const browser = new TestBrowser();
  const tx = await app.services.interaction.deps.transactions.create(loginRequest());
  const typed = 'Password-typed-as-username-7';
  const { answer, reqId } = await sendForm(browser, await browser.get(`${app.url}/login/${tx.id}`), { username: typed, password: '' });
  assert.equal(answer.status, 303);
  const line = onlyLine('login.password.refused', reqId, typed);
  assert.deepEqual([line.level, line.reason, line.login, line.loginLength], [30, 'malformed', undefined, typed.length]);
  assert.ok(!JSON.stringify(app.logs.filter((logged) => logged.reqId === reqId)).includes(typed), 'in no line of the request');
  const { events } = await app.services.store.audit.query({ limit: 1000 });
  const event = events.find((candidate) => candidate.requestId === reqId);
  assert.deepEqual([event?.type, event?.reason, event?.username, event?.loginLength], ['login.password', 'malformed', undefined, typed.length]);
  assert.ok(!JSON.stringify(events).includes(typed), 'nor in the audit log');
});
