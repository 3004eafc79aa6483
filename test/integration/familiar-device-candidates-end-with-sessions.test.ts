import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request as loginRequest } from '../helpers/login-request.ts';
import type { LoginRequest } from '../../src/core/types.ts';

/**
 * The browser a password sign-in proposes as familiar (held in memory per SSO session, until a
 * sign-in of the session is complete, and after one on the password alone for a later second factor)
 * is held only while the session can still complete a sign-in: not past its sign-out, "Not you?", an
 * administrator's end, another person's or a re-authentication's new session, nor its idle timeout.
 */
const PASSWORD = 'Correct-horse-42';
const IDLE_MINUTES = 30;
const MINUTE = 60_000;
let now = Date.parse('2026-11-25T08:00:00Z');
const clock = { now: () => now };
let app: Booted;

before(async () => {
  app = await boot({ directory: { kind: 'local' }, session: { idleTimeoutMinutes: IDLE_MINUTES, absoluteTimeoutHours: 10 } }, { clock });
  for (const name of ['alice', 'bob', 'carl', 'dora', 'emil', 'finn', 'gina']) await addLocalUser(app.services, name, PASSWORD);
});
after(() => app?.close());

const CANDIDATES = 'familiar-device-candidates';
const candidateOf = (sessionId: string) => app.services.store.kv.get(CANDIDATES, sessionId);
const sessionOf = (browser: TestBrowser) => browser.cookies.get(new URL(app.url).host)?.get('sg_session');

/** Opens a sign-in to an application under `policy` (require-mfa: it waits at the setup page) in `browser`. */
async function open(browser: TestBrowser, policy: string, overrides: Partial<LoginRequest> = {}): Promise<{ txId: string; page: Page }> {
  const tx = await app.services.interaction.deps.transactions.create(loginRequest({ rpId: `app-${policy}`, rpName: 'App', rp: { policy, allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' }, ...overrides }));
  return { txId: tx.id, page: await browser.get(`${app.url}/login/${tx.id}`) };
}

/** A password sign-in that stops at the setup of a second factor; the page and the SSO session it started. */
async function atSetup(browser: TestBrowser, username: string): Promise<{ page: Page; sessionId: string }> {
  const { page } = await open(browser, 'permit-everyone-require-mfa');
  const setup = await browser.submit(page, { username, password: PASSWORD });
  assert.match(setup.body, /<code id="totp-secret">/, `the setup page, got ${setup.status}`);
  const sessionId = sessionOf(browser)!;
  assert.ok(await candidateOf(sessionId), 'the browser is proposed for its session');
  return { page: setup, sessionId };
}

test('a sign-out drops the browser proposed for the session', async () => {
  const browser = new TestBrowser();
  const { sessionId } = await atSetup(browser, 'alice');
  await browser.submit(await browser.get(`${app.url}/logout`), {}, '/logout');
  assert.equal(sessionOf(browser), undefined, 'signed out');
  assert.equal(await candidateOf(sessionId), undefined);
});

test('"Not you?" drops it', async () => {
  const browser = new TestBrowser();
  const { page, sessionId } = await atSetup(browser, 'bob');
  await browser.submit(page, {}, '/switch-account');
  assert.equal(await candidateOf(sessionId), undefined);
});

test("an administrator's end of the session drops it", async () => {
  const browser = new TestBrowser();
  const { sessionId } = await atSetup(browser, 'carl');
  const session = await app.services.sessions.peek(sessionId);
  assert.ok(session);
  await app.services.adminLogouts.end([session]);
  await app.services.adminLogouts.deliver({ log: app.services.logger, trigger: 'admin' });
  assert.equal(await app.services.sessions.peek(sessionId), undefined, 'the session ended');
  assert.equal(await candidateOf(sessionId), undefined);
});

test("another person's sign-in in the browser, and a re-authentication's new session, drop the one of the session they end", async () => {
  const browser = new TestBrowser();
  const { sessionId: dora } = await atSetup(browser, 'dora');
  const { page } = await open(browser, 'permit-everyone', { forceAuthn: true });
  await browser.submit(page, { username: 'emil', password: PASSWORD });
  const emil = sessionOf(browser)!;
  assert.notEqual(emil, dora);
  assert.equal(await candidateOf(dora), undefined, "dora's session ended as emil signed in");
  assert.ok(await candidateOf(emil), "emil's session has its own");

  const again = await open(browser, 'permit-everyone', { forceAuthn: true });
  await browser.submit(again.page, { username: 'emil', password: PASSWORD });
  const replaced = sessionOf(browser)!;
  assert.notEqual(replaced, emil, 'the re-authentication started a new session');
  assert.equal(await candidateOf(emil), undefined, 'the replaced session has none left');
  assert.ok(await candidateOf(replaced));
});

test("it lasts while the browser uses its session, and ends with the session's idle timeout", async () => {
  const browser = new TestBrowser();
  const { sessionId } = await atSetup(browser, 'finn');
  now += (IDLE_MINUTES - 10) * MINUTE;
  // Any page of a sign-in is the browser's use of the session: its idle timeout starts again.
  await open(browser, 'permit-everyone-require-mfa');
  now += (IDLE_MINUTES - 5) * MINUTE;
  assert.ok(await app.services.sessions.peek(sessionId), 'the session is still live for the browser');
  assert.ok(await candidateOf(sessionId), 'and so is the browser proposed for it, past the first idle timeout');
  const resumed = await open(browser, 'permit-everyone-require-mfa');
  assert.match(resumed.page.body, /You are signed in as/, 'the same session goes on (its password asked again before the setup)');

  now += IDLE_MINUTES * MINUTE + MINUTE;
  assert.equal(await candidateOf(sessionId), undefined, 'gone with the idle timeout');
  const later = await open(browser, 'permit-everyone-require-mfa');
  assert.doesNotMatch(later.page.body, /You are signed in as/, 'the session is over for the browser too: the plain sign-in page');
});

test('a browser that does not use its session again: its proposal ends with the idle timeout, not at the absolute end', async () => {
  const browser = new TestBrowser();
  const { sessionId } = await atSetup(browser, 'gina');
  now += IDLE_MINUTES * MINUTE + MINUTE;
  assert.equal(await candidateOf(sessionId), undefined);
});

test('ten sign-ins ended by sign-outs leave no proposed browser behind', async () => {
  const before = (await app.services.store.kv.entries(CANDIDATES)).length;
  for (let i = 0; i < 10; i++) {
    const browser = new TestBrowser();
    await atSetup(browser, 'alice');
    await browser.submit(await browser.get(`${app.url}/logout`), {}, '/logout');
  }
  assert.equal((await app.services.store.kv.entries(CANDIDATES)).length, before);
});
