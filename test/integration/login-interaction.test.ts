import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request } from '../helpers/login-request.ts';
import type { LoginRequest } from '../../src/core/types.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { userCommands } from '../../src/cli/commands/user.ts';

const PASSWORD = 'Correct-horse-42';
let now = Date.parse('2026-11-22T10:00:00Z');
const clock = { now: () => now };


describe('sign-in interaction (local directory)', () => {
  let app: Booted;

  async function open(browser: TestBrowser, overrides: Partial<LoginRequest> = {}) {
    const tx = await app.services.interaction.deps.transactions.create(request(overrides));
    return { tx, page: await browser.get(`${app.url}/login/${tx.id}`) };
  }

  async function resultOf(txId: string) {
    return app.finished.get(txId);
  }

  before(async () => {
    app = await boot({ server: { trustedProxies: ['127.0.0.1/32'] }, regulation: { maxFailuresPerUser: 3, maxFailuresPerIp: 100, windowSeconds: 300, lockoutSeconds: 600 }, directory: { kind: 'local', passwordRules: { maxAgeDays: 90, expiryWarningDays: 14 } } }, { clock });
    await addLocalUser(app.services, 'alice', PASSWORD, { addGroups: ['staff'] });
    await addLocalUser(app.services, 'dora', PASSWORD, { disabled: true });
    await addLocalUser(app.services, 'mike', PASSWORD, { mustChangePassword: true });
    await addLocalUser(app.services, 'lockme', PASSWORD);
  });
  after(() => app.close());

  test('password page is accessible, has CSRF and no-store, and shows the application name', async () => {
    const { page } = await open(new TestBrowser());
    assert.equal(page.status, 200);
    assert.match(page.body, /<label for="field-username">Username<\/label>/);
    assert.match(page.body, /name="_csrf" value="[^"]+"/);
    assert.match(page.body, /Test App/);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  });

  test('wrong password and unknown user read the same; nothing is signed in', async () => {
    const browser = new TestBrowser();
    const { tx, page } = await open(browser);
    const wrong = await browser.submit(page, { username: 'alice', password: 'nope-nope-nope' });
    const unknown = await browser.submit(page, { username: 'nobody', password: 'nope-nope-nope' });
    for (const result of [wrong, unknown]) {
      assert.equal(result.status, 401);
      assert.match(result.body, /Invalid username or password\./);
    }
    assert.equal(await resultOf(tx.id), undefined);
    assert.equal(browser.cookieHeader(app.url).includes('sg_session'), false);
  });

  test('an X-Forwarded-For from the trusted proxy that is not an IP address is not believed: the client address is unknown, with a warning', async () => {
    for (const [forwarded, expected] of [['10.9.8.7', '10.9.8.7'], ['not-an-ip<script>', 'unknown'], ['9'.repeat(12_000), 'unknown'], ['\u009b31m', 'unknown']] as const) {
      const browser = new TestBrowser();
      const { page } = await open(browser);
      const mark = app.logs.length;
      const headers = { 'x-forwarded-for': forwarded };
      await browser.submit(page, { username: 'nobody', password: 'nope-nope-nope' }, undefined, headers);
      const { events } = await app.services.store.audit.query({ types: ['login.password'], limit: 1 });
      assert.equal(events.at(-1)?.ip, expected, forwarded.slice(0, 20));
      const warned = app.logs.slice(mark).some((line) => line.code === 'FORWARDED_FOR_INVALID');
      assert.equal(warned, expected === 'unknown', forwarded.slice(0, 20));
    }
  });

  test('correct password starts a strict session cookie and completes the transaction', async () => {
    const browser = new TestBrowser();
    const { tx, page } = await open(browser);
    const response = await fetch(page.url.replace(/\/login\/.*/, `/login/${tx.id}/password`), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: browser.cookieHeader(app.url), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!, username: 'alice', password: PASSWORD }),
    });
    assert.equal(response.status, 303);
    assert.match(response.headers.get('location')!, new RegExp(`^/resume\\?tx=${tx.id}`));
    // The session cookie itself, not the clearing (sg_session=; Max-Age=0) that every sign-in sends first.
    const cookie = response.headers.getSetCookie().find((line) => /^sg_session=[^;]+;/.test(line));
    assert.ok(cookie, `a session cookie with a value among ${JSON.stringify(response.headers.getSetCookie())}`);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.doesNotMatch(cookie, /Secure/); // http://localhost: Secure only when the public URL is https
    const result = await resultOf(tx.id);
    assert.equal(result?.ok, true);
    assert.ok(result?.ok && result.user.username === 'alice' && result.amr.includes('pwd'));
  });

  test('a second request reuses the SSO session without a password; ForceAuthn and max_age ask again', async () => {
    const browser = new TestBrowser();
    const first = await open(browser);
    await browser.submit(first.page, { username: 'alice', password: PASSWORD });
    const reuse = await open(browser);
    assert.match(reuse.page.url, /\/resume\?tx=/);
    assert.equal((await resultOf(reuse.tx.id))?.ok, true);
    const forced = await open(browser, { forceAuthn: true });
    assert.match(forced.page.body, /name="password"/);
    now += 120_000;
    const aged = await open(browser, { maxAgeSec: 60 });
    assert.match(aged.page.body, /name="password"/);
    const passive = await open(new TestBrowser(), { passive: true });
    assert.match(passive.page.url, /\/resume\?tx=/);
    const passiveResult = await resultOf(passive.tx.id);
    assert.equal(passiveResult?.ok, false);
    assert.ok(passiveResult && !passiveResult.ok && passiveResult.error === 'login_required');
  });

  test('a POST without the CSRF token, or from another origin, is refused and logged', async () => {
    const browser = new TestBrowser();
    const { tx, page } = await open(browser);
    const noToken = await browser.request(`${app.url}/login/${tx.id}/password`, { method: 'POST', body: new URLSearchParams({ username: 'alice', password: PASSWORD }) });
    assert.equal(noToken.status, 403);
    assert.match(noToken.body, /Your form expired or was sent from another site/);
    const crossOrigin = await browser.submit(page, { username: 'alice', password: PASSWORD }, undefined, { origin: 'https://evil.example' });
    assert.equal(crossOrigin.status, 403);
    assert.match(crossOrigin.body, new RegExp(`This form was sent from another address than this sign-in service(?:'|&#39;)s \\(${app.url.replace(/\./g, '\\.')}\\), so it was not accepted\\. Open ${app.url.replace(/\./g, '\\.')}, or the application that sent you here`));
    assert.doesNotMatch(crossOrigin.body, /evil\.example/, 'the sender names nothing on this page');
    assert.equal(await resultOf(tx.id), undefined);
    assert.ok(app.logs.some((line) => line.code === 'CSRF_FAILED'));
  });

  test('a transaction belongs to the browser that opened it', async () => {
    const { tx } = await open(new TestBrowser());
    const other = await new TestBrowser().get(`${app.url}/login/${tx.id}`);
    assert.equal(other.status, 400);
    assert.match(other.body, /This sign-in has expired/);
    const unknown = await new TestBrowser().get(`${app.url}/login/not-a-transaction`);
    assert.equal(unknown.status, 400);
    assert.doesNotMatch(unknown.body, /at .*\.ts/); // no stack traces
  });

  test('account state is revealed only after the right password', async () => {
    const browser = new TestBrowser();
    const { page } = await open(browser);
    const wrong = await browser.submit(page, { username: 'dora', password: 'wrong-password-1' });
    assert.match(wrong.body, /Invalid username or password\./);
    const right = await browser.submit(page, { username: 'dora', password: PASSWORD });
    assert.equal(right.status, 403);
    assert.match(right.body, /Your account is disabled/);
  });

  test('must-change: refused in plain words where the app forbids it, changed where allowed', async () => {
    const refused = new TestBrowser();
    const blocked = await open(refused, { rp: { allowPasswordChange: false } });
    const refusal = await refused.submit(blocked.page, { username: 'mike', password: PASSWORD });
    assert.equal(refusal.status, 403);
    assert.match(refusal.body, /You must change your password before signing in\. This application does not allow changing it here: change it on &quot;My security&quot; \(\/account\/security on this sign-in service\)/);

    const browser = new TestBrowser();
    const { tx, page } = await open(browser);
    const changePage = await browser.submit(page, { username: 'mike', password: PASSWORD });
    assert.match(changePage.body, /Change your password/);
    const rules = /<ul class="rules"[^>]*>([\s\S]*?)<\/ul>/.exec(changePage.body)?.[1] ?? '';
    assert.deepEqual(
      [...rules.matchAll(/<li>(.*?)<\/li>/g)].map((item) => item[1]),
      ['be at least 12 characters long', 'contain a letter', 'contain a digit', 'not contain your username', 'not be one of your last 6 passwords'],
      'the local rules are listed before the first try, in the configured order',
    );
    const mismatch = await browser.submit(changePage, { currentPassword: PASSWORD, newPassword: 'Another-pass-77', confirmPassword: 'Different-pass-77' });
    assert.match(mismatch.body, /The two new passwords are not the same/);
    const weak = await browser.submit(changePage, { currentPassword: PASSWORD, newPassword: 'short', confirmPassword: 'short' });
    assert.match(weak.body, /at least 12 characters/);
    const done = await browser.submit(changePage, { currentPassword: PASSWORD, newPassword: 'Another-pass-77', confirmPassword: 'Another-pass-77' });
    assert.match(done.url, /\/resume\?tx=/);
    assert.equal((await resultOf(tx.id))?.ok, true);
    const fresh = new TestBrowser();
    const oldPassword = await open(fresh);
    const stale = await fresh.submit(oldPassword.page, { username: 'mike', password: PASSWORD });
    assert.match(stale.body, /Invalid username or password\./);
  });

  test('password expiry warning shows days left and lets the user continue', async () => {
    const warnUserAt = now;
    await addLocalUser(app.services, 'wendy', PASSWORD);
    now = warnUserAt + 80 * 86_400_000; // 90-day maximum age, 14-day warning
    try {
      const browser = new TestBrowser();
      const { tx, page } = await open(browser);
      const warning = await browser.submit(page, { username: 'wendy', password: PASSWORD });
      assert.match(warning.body, /Your password expires in 10 days/);
      const continued = await browser.submit(warning, {}, '/continue');
      assert.match(continued.url, /\/resume\?tx=/);
      assert.equal((await resultOf(tx.id))?.ok, true);
    } finally {
      now = warnUserAt;
    }
  });

  test('repeated failures lock the username for a while, then it unlocks by itself', async () => {
    const browser = new TestBrowser();
    const { page } = await open(browser);
    for (let i = 0; i < 3; i++) await browser.submit(page, { username: 'lockme', password: `wrong-${i}-password` });
    const locked = await browser.submit(page, { username: 'lockme', password: PASSWORD });
    assert.equal(locked.status, 429);
    assert.match(locked.body, /Too many failed attempts\. Try again in 10 minutes\./);
    // Every spelling a directory could match to the account: domain and suffix, case, fullwidth
    // letters (NFKC), an ignorable soft hyphen, surrounding spaces.
    for (const username of ['EXAMPLE\\LockMe', 'lockme@example.org', 'ＬＯＣＫme', 'lock\u00adme', ' lockme ']) {
      assert.equal((await browser.submit(page, { username, password: PASSWORD })).status, 429, `${JSON.stringify(username)} shares the lock`);
    }
    now += 601_000;
    // A new sign-in: one nobody got into is not kept for the lock's 10 minutes.
    const unlocked = await browser.submit((await open(browser)).page, { username: 'lockme', password: PASSWORD });
    assert.match(unlocked.url, /\/resume\?tx=/);
  });

  test('guesses sent at once are counted before their passwords are checked: no more than the limit are ever tried', async () => {
    await addLocalUser(app.services, 'parallel', PASSWORD);
    const guesses = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const browser = new TestBrowser();
        return { browser, page: (await open(browser)).page, password: i === 11 ? PASSWORD : `wrong-${i}-password` };
      }),
    );
    const answers = await Promise.all(guesses.map(({ browser, page, password }) => browser.submit(page, { username: 'parallel', password })));
    const statuses = answers.map((page) => page.status);
    const checked = (await app.services.store.audit.query({ types: ['login.password'], user: 'parallel' })).events.filter((event) => event.reason === 'invalid-credentials');
    assert.ok(checked.length <= 3, `at most maxFailuresPerUser (3) wrong passwords are checked, not ${checked.length} (${statuses.join(' ')})`);
    assert.equal(statuses.filter((status) => status === 401).length, checked.length);
    assert.ok(statuses.filter((status) => status === 429).length >= 8, statuses.join(' '));
  });

  test("an account's login names share one count: guesses by username lock sign-in by email, and the other way round", async () => {
    await addLocalUser(app.services, 'twonames', PASSWORD, { email: 'someone.else@example.org' });
    const browser = new TestBrowser();
    const { page } = await open(browser);
    await browser.submit(page, { username: 'twonames', password: 'wrong-1-password' });
    await browser.submit(page, { username: 'someone.else@example.org', password: 'wrong-2-password' });
    await browser.submit(page, { username: 'twonames', password: 'wrong-3-password' });
    for (const username of ['someone.else@example.org', 'twonames']) {
      const right = await browser.submit(page, { username, password: PASSWORD });
      assert.equal(right.status, 429, `${username}: locked with the right password`);
    }
    const wrong = await browser.submit(page, { username: 'someone.else@example.org', password: 'wrong-4-password' });
    assert.equal(wrong.status, 429, 'and with a wrong one: the answer does not tell the two apart');
  });

  test('helpdesk unlock (user unlock) lifts a password lock at once', async () => {
    await addLocalUser(app.services, 'unlockme', PASSWORD);
    const browser = new TestBrowser();
    const { page } = await open(browser);
    for (let i = 0; i < 3; i++) await browser.submit(page, { username: 'unlockme', password: `wrong-${i}-password` });
    assert.equal((await browser.submit(page, { username: 'unlockme', password: PASSWORD })).status, 429);
    const out: string[] = [];
    const code = await runCli(userCommands, ['user', 'unlock', 'unlockme'], {
      config: () => app.services.config,
      store: async () => app.services.store,
      box: () => app.services.box,
      clock,
      out: (line) => out.push(line),
      err: (line) => out.push(line),
    });
    assert.equal(code, 0);
    assert.deepEqual(out, ['Unlocked unlockme.']);
    const unlocked = await browser.submit(page, { username: 'unlockme', password: PASSWORD });
    assert.match(unlocked.url, /\/resume\?tx=/);
  });

  test('client IP comes from X-Forwarded-For only through a trusted proxy', async () => {
    const browser = new TestBrowser();
    const { page } = await open(browser);
    await browser.submit(page, { username: 'ghost', password: 'whatever-1234' }, undefined, { 'x-forwarded-for': '203.0.113.7' });
    const { events } = await app.services.store.audit.query({ limit: 5 });
    assert.equal(events.findLast((event) => event.username === 'ghost')?.ip, '203.0.113.7');
  });

  test('a finished sign-in is handed over once: its pages and forms are gone afterwards', async () => {
    const browser = new TestBrowser();
    const { tx, page } = await open(browser);
    const done = await browser.submit(page, { username: 'alice', password: PASSWORD });
    assert.match(done.url, new RegExp(`/resume\\?tx=${tx.id}`));
    const first = app.finished.get(tx.id);
    assert.equal(first?.ok, true);
    app.finished.delete(tx.id);
    // The browser's Back: told that the sign-in is done, not that it expired (browser-back-after-sign-in.test.ts).
    const again = await browser.get(`${app.url}/login/${tx.id}`);
    assert.match(again.body, /Your sign-in to Test App is complete/);
    const resubmitted = await browser.submit(page, { username: 'alice', password: PASSWORD });
    assert.equal(new URL(resubmitted.url).pathname, `/login/${tx.id}`, 'the form is answered with a redirect to the page (Post/Redirect/Get)');
    assert.match(resubmitted.body, /Your sign-in to Test App is complete/);
    assert.equal(app.finished.has(tx.id), false, 'no second hand-over');
  });

  test("Back to a finished sign-in after its user signed out and another signed in on the browser names neither of them", async () => {
    await addLocalUser(app.services, 'bert', PASSWORD, { name: 'Bert Other' });
    const browser = new TestBrowser();
    const { tx, page } = await open(browser);
    await browser.submit(page, { username: 'alice', password: PASSWORD });
    assert.match((await browser.get(`${app.url}/login/${tx.id}`)).body, /<h1>You are signed in<\/h1>/);
    await browser.submit(await browser.get(`${app.url}/logout`));
    const next = await open(browser);
    assert.match((await browser.submit(next.page, { username: 'bert', password: PASSWORD })).url, /\/resume\?tx=/);

    const back = await browser.get(`${app.url}/login/${tx.id}`);
    assert.equal(back.status, 200);
    assert.match(back.body, /<h1>Sign-in finished<\/h1>/);
    assert.doesNotMatch(back.body, /alice|bert|Bert Other|You are signed in/i);
  });

  test('oversized form bodies are refused with 413', async () => {
    const browser = new TestBrowser();
    const { tx } = await open(browser);
    const big = await browser.request(`${app.url}/login/${tx.id}/password`, { method: 'POST', body: new URLSearchParams({ username: 'a'.repeat(300_000), password: 'x' }) });
    assert.equal(big.status, 413);
  });
});
