import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request } from '../helpers/login-request.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import type { LoginRequest } from '../../src/core/types.ts';

const PASSWORD = 'Correct-horse-42';
let now = Date.parse('2026-11-23T10:00:15Z');
const clock = { now: () => now };
let app: Booted;

async function open(browser: TestBrowser, overrides: Partial<LoginRequest> = {}) {
  const tx = await app.services.interaction.deps.transactions.create(request(overrides));
  return { tx, page: await browser.get(`${app.url}/login/${tx.id}`) };
}

const isPasswordPage = (page: Page) => /name="password"/.test(page.body);

function shownSecret(page: Page): string {
  const match = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.body);
  assert.ok(match, `expected the TOTP setup page, got ${page.status} ${page.url}\n${page.body.slice(0, 400)}`);
  return match[1]!.replace(/ /g, '');
}

before(async () => {
  app = await boot(
    {
      regulation: { maxFailuresPerUser: 3, maxFailuresPerIp: 100, windowSeconds: 300, lockoutSeconds: 600 },
      // Long enough that a browser left signed in for hours still has its session.
      session: { idleTimeoutMinutes: 480 },
      directory: { kind: 'local', passwordRules: { maxAgeDays: 90, expiryWarningDays: 14 } },
    },
    { clock },
  );
});
after(() => app?.close());

describe('password change at sign-in', () => {
  test('a new password longer than the sign-in form accepts is refused: it could never sign in', async () => {
    await addLocalUser(app.services, 'lena', PASSWORD, { mustChangePassword: true });
    const browser = new TestBrowser();
    const { page } = await open(browser);
    const changePage = await browser.submit(page, { username: 'lena', password: PASSWORD });
    const huge = `Aa1-${'x'.repeat(1100)}`;
    const refused = await browser.submit(changePage, { currentPassword: PASSWORD, newPassword: huge, confirmPassword: huge });
    assert.equal(refused.status, 400);
    assert.match(refused.body, /at most 1024 characters/);
    const still = new TestBrowser();
    const again = await open(still);
    assert.match((await still.submit(again.page, { username: 'lena', password: PASSWORD })).body, /Change your password/, 'the old password still stands');
  });

  test('new passwords the rules refuse do not count as failed passwords; a wrong current password does', async () => {
    await addLocalUser(app.services, 'rita', PASSWORD, { mustChangePassword: true });
    const browser = new TestBrowser();
    const { tx, page } = await open(browser);
    const changePage = await browser.submit(page, { username: 'rita', password: PASSWORD });
    for (const weak of ['abc1', 'abcdefghijklmnop', 'xxRITAxx-longenough1', '1234567890123']) {
      const refused = await browser.submit(changePage, { currentPassword: PASSWORD, newPassword: weak, confirmPassword: weak });
      assert.equal(refused.status, 400, `"${weak}" is refused with the rule it breaks`);
      assert.match(refused.body, /Change your password/);
    }
    const done = await browser.submit(changePage, { currentPassword: PASSWORD, newPassword: 'Another-pass-77', confirmPassword: 'Another-pass-77' });
    assert.match(done.url, /\/resume\?tx=/, 'four refused choices did not lock the user out');
    assert.equal(app.finished.get(tx.id)?.ok, true);
    const audit = (await app.services.store.audit.query({ types: ['password.change'], user: 'rita' })).events;
    assert.equal(audit.at(-1)?.outcome, 'success');
    assert.ok(audit.at(-1)?.userId, 'the success names the account');

    await addLocalUser(app.services, 'walt', PASSWORD, { mustChangePassword: true });
    const guesser = new TestBrowser();
    const walt = await open(guesser);
    const waltChange = await guesser.submit(walt.page, { username: 'walt', password: PASSWORD });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await guesser.submit(waltChange, { currentPassword: `wrong-current-${i}`, newPassword: 'Another-pass-77', confirmPassword: 'Another-pass-77' })).status);
    assert.deepEqual(statuses, [400, 400, 400, 429], 'wrong current passwords are guesses: the third locks');
    const refusedAudit = (await app.services.store.audit.query({ types: ['password.change'], user: 'walt' })).events;
    assert.equal(refusedAudit.at(-1)?.reason, 'rate-limited', 'the refused attempt is audited too');
  });

  test('every refused change is audited, including those of the form itself', async () => {
    await addLocalUser(app.services, 'xena', PASSWORD, { mustChangePassword: true });
    const browser = new TestBrowser();
    const { page } = await open(browser);
    const changePage = await browser.submit(page, { username: 'xena', password: PASSWORD });
    await browser.submit(changePage, { currentPassword: PASSWORD, newPassword: 'Another-pass-77', confirmPassword: 'Another-pass-78' });
    await browser.submit(changePage, { currentPassword: PASSWORD, newPassword: PASSWORD, confirmPassword: PASSWORD });
    const huge = `Aa1-${'x'.repeat(1100)}`;
    await browser.submit(changePage, { currentPassword: PASSWORD, newPassword: huge, confirmPassword: huge });
    const reasons = (await app.services.store.audit.query({ types: ['password.change'], user: 'xena' })).events.map((event) => event.reason);
    assert.deepEqual(reasons, ['confirmation-differs', 'same-as-current', 'too-long']);
  });
});

describe('one-time accounts', () => {
  test('are spent by the sign-in that shows the expiry warning', async () => {
    const createdAt = now;
    await addLocalUser(app.services, 'otto', PASSWORD, { oneTimeUse: true });
    now = createdAt + 80 * 86_400_000; // 90-day maximum age, 14-day warning
    try {
      const first = new TestBrowser();
      const one = await open(first);
      assert.match((await first.submit(one.page, { username: 'otto', password: PASSWORD })).body, /Your password expires in 10 days/);
      const second = new TestBrowser();
      const two = await open(second);
      const refused = await second.submit(two.page, { username: 'otto', password: PASSWORD });
      assert.equal(refused.status, 403);
      assert.match(refused.body, /disabled/);
    } finally {
      now = createdAt;
    }
  });

  test('sign in exactly once, however many browsers send the password at the same moment', async () => {
    await addLocalUser(app.services, 'olga', PASSWORD, { oneTimeUse: true });
    const attempts = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const browser = new TestBrowser();
        const { tx, page } = await open(browser);
        await browser.submit(page, { username: 'olga', password: PASSWORD });
        return app.finished.get(tx.id)?.ok === true;
      }),
    );
    assert.equal(attempts.filter(Boolean).length, 1, `signed in: ${attempts.join(', ')}`);
  });
});

describe('one-time accounts and the directory re-read', () => {
  test('a one-time account finishes the sign-in that spent it, however long its TOTP setup takes, and that sign-in only', async () => {
    await addLocalUser(app.services, 'opal', PASSWORD, { oneTimeUse: true });
    const requireMfa = { rp: { allowPasswordChange: true, policy: 'permit-everyone-require-mfa' } };
    const started = now;
    try {
      const browser = new TestBrowser();
      const { tx, page } = await open(browser, requireMfa);
      const setup = await browser.submit(page, { username: 'opal', password: PASSWORD });
      const secret = shownSecret(setup);
      now += 60_000; // the directory now reports the spent account disabled, and its answer of the password step is stale
      const codes = await browser.submit(setup, { code: oathtoolTotp(secret, now) });
      assert.match(codes.body, /Your backup codes/);
      await browser.submit(codes, {});
      assert.equal(app.finished.get(tx.id)?.ok, true, 'the sign-in the account was for completes');
      const next = await open(browser, requireMfa);
      assert.ok(isPasswordPage(next.page), 'a second application gets no reuse of that session');
    } finally {
      now = started;
    }
  });
});

describe('"my security"', () => {
  test('a sign-in older than the grant asks for the password again before second factors can be changed', async () => {
    await addLocalUser(app.services, 'sam', PASSWORD);
    const browser = new TestBrowser();
    const { page } = await open(browser);
    await browser.submit(page, { username: 'sam', password: PASSWORD });
    const soon = await browser.get(`${app.url}/account/security`);
    assert.match(soon.body, /My security settings/, 'a fresh sign-in reaches the page without a new password');
    const signedInAt = now;
    now += 3 * 3_600_000;
    try {
      const later = await browser.get(`${app.url}/account/security`);
      assert.ok(isPasswordPage(later), `three hours later the password is asked again, got ${later.status} ${later.url}`);
      const enroll = await browser.get(`${app.url}/account/security/totp`);
      assert.ok(isPasswordPage(enroll), 'and no TOTP secret is shown to whoever sits at the browser');
      assert.match((await browser.submit(later, { username: 'sam', password: PASSWORD })).body, /My security settings/);
    } finally {
      now = signedInAt;
    }
  });

  test('two browsers confirming their setups at once: exactly one is told "set up", and its secret is the one that works', async () => {
    await addLocalUser(app.services, 'tina', PASSWORD);
    const browsers = [new TestBrowser(), new TestBrowser(), new TestBrowser()];
    const setups = await Promise.all(
      browsers.map(async (browser) => {
        const login = await browser.get(`${app.url}/account/security`);
        await browser.submit(login, { username: 'tina', password: PASSWORD });
        return browser.get(`${app.url}/account/security/totp`);
      }),
    );
    const secrets = setups.map(shownSecret);
    const answers = await Promise.all(browsers.map((browser, i) => browser.submit(setups[i]!, { code: oathtoolTotp(secrets[i]!, now) })));
    const winners = answers.flatMap((answer, i) => (/Your backup codes/.test(answer.body) ? [i] : []));
    assert.equal(winners.length, 1, `told "set up": ${winners.join(', ')}`);
    now += 30_000;
    const user = (await app.services.directory.findUser('tina'))!;
    const winner = winners[0]!;
    const check = await app.services.mfa.totp.verify({ user, ip: '127.0.0.1' }, oathtoolTotp(secrets[winner]!, now));
    assert.equal(check.ok, true, "the winner's secret is the registered one");
    for (const [i, answer] of answers.entries()) {
      if (i === winner) continue;
      assert.doesNotMatch(answer.body, /totp-secret/, 'a loser is not shown a new secret that could never be confirmed');
    }
  });

  test('opening the page late in the ten minutes after a sign-in gives no more time: the password is asked once the sign-in is ten minutes old', async () => {
    await addLocalUser(app.services, 'vic', PASSWORD);
    const browser = new TestBrowser();
    const { page } = await open(browser);
    await browser.submit(page, { username: 'vic', password: PASSWORD });
    const signedInAt = now;
    try {
      now = signedInAt + 9 * 60_000;
      assert.match((await browser.get(`${app.url}/account/security`)).body, /My security settings/, 'nine minutes after the sign-in');
      now = signedInAt + 11 * 60_000;
      assert.ok(isPasswordPage(await browser.get(`${app.url}/account/security`)), 'eleven minutes after it, though the page was opened two minutes ago');
    } finally {
      now = signedInAt;
    }
  });

  test('one browser confirming the same setup three times at once (a triple click, two tabs) is told "set up" once; the others land on the settings page', async () => {
    await addLocalUser(app.services, 'wes', PASSWORD);
    const browser = new TestBrowser();
    const login = await browser.get(`${app.url}/account/security`);
    await browser.submit(login, { username: 'wes', password: PASSWORD });
    const setup = await browser.get(`${app.url}/account/security/totp`);
    const code = oathtoolTotp(shownSecret(setup), now);
    const answers = await Promise.all([1, 2, 3].map(() => browser.submit(setup, { code })));
    assert.equal(answers.filter((answer) => /Your backup codes/.test(answer.body)).length, 1);
    for (const answer of answers.filter((page) => !/Your backup codes/.test(page.body))) {
      assert.doesNotMatch(answer.body, /totp-secret/, 'no new secret that could never be confirmed');
      assert.match(answer.url, /\/account\/security$/);
    }
  });

  test('confirming a setup twice (a double click) does not show a new secret that can never be confirmed', async () => {
    await addLocalUser(app.services, 'uma', PASSWORD);
    const browser = new TestBrowser();
    const login = await browser.get(`${app.url}/account/security`);
    await browser.submit(login, { username: 'uma', password: PASSWORD });
    const setup = await browser.get(`${app.url}/account/security/totp`);
    const code = oathtoolTotp(shownSecret(setup), now);
    assert.match((await browser.submit(setup, { code })).body, /Your backup codes/);
    const second = await browser.submit(setup, { code });
    assert.match(second.url, /\/account\/security$/, `the second click lands on the settings page, got ${second.url}`);
    assert.doesNotMatch(second.body, /totp-secret/);
  });
});
