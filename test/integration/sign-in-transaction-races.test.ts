import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boot, type Booted } from '../helpers/boot.ts';
import { TestBrowser, type Page } from '../helpers/browser.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { request, startSignIn } from '../helpers/login-request.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import type { LoginRequest } from '../../src/core/types.ts';

/**
 * One sign-in, several requests at once: a double click, a script, a form sent from two tabs. Each
 * sign-in is handed to its application once, and one password typed once makes one SSO session.
 */

const PASSWORD = 'Parallel-pass-2026';
const POSTS = 10;
const COUNTING_FINISHER = 'counting';
const TOTP_PARAMETERS = { digits: 6, periodSeconds: 30, algorithm: 'sha1' } as const;

describe('one sign-in transaction, many requests at once', () => {
  let app: Booted;
  let now = Date.parse('2026-11-22T10:00:15Z');
  const clock = { now: () => now };
  /** How many times each transaction was handed to its application. */
  const handedOver = new Map<string, number>();

  before(async () => {
    // Limits high enough that every post of the race reaches the directory: the race is the subject here, not the regulator.
    app = await boot({ regulation: { maxFailuresPerUser: 1000, signInStartsPerIpPerMinute: 100_000 }, directory: { kind: 'local', passwordRules: { maxAgeDays: 90, expiryWarningDays: 14 } } }, { clock });
    app.services.interaction.registerFinisher(COUNTING_FINISHER, async (_req, res, { txId }) => {
      handedOver.set(txId, (handedOver.get(txId) ?? 0) + 1);
      res.redirect(303, `/handed-over?tx=${encodeURIComponent(txId)}`);
    });
  });
  after(() => app?.close());

  /** A sign-in opened in `browser`, at its first page. */
  async function openSignIn(browser: TestBrowser, overrides: Partial<LoginRequest> = {}): Promise<{ txId: string; page: Page }> {
    return startSignIn(app, browser, request({ handoff: { finisher: COUNTING_FINISHER, ref: '' }, ...overrides }));
  }

  /** The form of `page` sent `count` times at once, as it is, without following the answers. */
  function sendAtOnce(browser: TestBrowser, page: Page, action: string, values: Record<string, string>, count = POSTS): Promise<Page[]> {
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    assert.ok(csrf, `a form with a CSRF token, got ${page.status}\n${page.body.slice(0, 300)}`);
    return Promise.all(Array.from({ length: count }, () => browser.request(new URL(action, app.url).toString(), { method: 'POST', body: new URLSearchParams({ _csrf: csrf, ...values }), followRedirects: false })));
  }

  const liveSessionsOf = async (username: string) => (await app.services.sessions.live()).filter((session) => session.user.username === username).length;
  const sessionCookiesSent = (answers: Page[]) => answers.filter((answer) => answer.headers.getSetCookie().some((cookie) => cookie.startsWith(`${app.services.config.session.cookieName}=`))).length;
  const summary = (answers: Page[]) => JSON.stringify(answers.map((answer) => `${answer.status} ${answer.headers.get('location') ?? ''}`));

  test('the same password posted ten times at once hands the sign-in over once and starts one SSO session; the other posts find it finished, none gets a 500', async () => {
    await addLocalUser(app.services, 'racer', PASSWORD);
    const browser = new TestBrowser();
    const { txId, page } = await openSignIn(browser);
    const answers = await sendAtOnce(browser, page, `/login/${txId}/password`, { username: 'racer', password: PASSWORD });

    assert.equal(handedOver.get(txId), 1, `handed over once: ${summary(answers)}`);
    const handOver = answers.filter((answer) => answer.status === 303 && answer.headers.get('location') === `/handed-over?tx=${txId}`);
    assert.equal(handOver.length, 1, summary(answers));
    // Sent to the finished sign-in's page (Post/Redirect/Get), which says so.
    for (const answer of answers.filter((candidate) => !handOver.includes(candidate))) {
      assert.deepEqual([answer.status, answer.headers.get('location')], [303, `/login/${txId}`], summary(answers));
    }
    assert.match((await browser.get(`${app.url}/login/${txId}`)).body, /<h1>You are signed in<\/h1>/, 'this browser has the session the one hand-over started');
    assert.equal(await liveSessionsOf('racer'), 1, 'one SSO session');
    assert.equal(sessionCookiesSent(answers), 1, 'one session cookie, in the answer that handed the sign-in over');
  });

  test('where a second factor follows: ten password posts at once check the password once, all lead to the code page, and the code hands the sign-in over once', async () => {
    const userId = await addLocalUser(app.services, 'racer-mfa', PASSWORD);
    const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    await app.services.mfa.enrollments.put(userId, 'racer-mfa', secret, TOTP_PARAMETERS, now);
    const browser = new TestBrowser();
    const { txId, page } = await openSignIn(browser, { rp: { policy: 'permit-everyone-require-mfa', allowPasswordChange: false } });
    const answers = await sendAtOnce(browser, page, `/login/${txId}/password`, { username: 'racer-mfa', password: PASSWORD });

    // The answer to the post that took the step, and to every post that found it taken (Post/Redirect/Get).
    assert.ok(answers.every((answer) => answer.status === 303 && answer.headers.get('location') === `/login/${txId}`), summary(answers));
    assert.equal(await liveSessionsOf('racer-mfa'), 1, 'one SSO session');
    assert.equal(sessionCookiesSent(answers), 1);
    const { events } = await app.services.store.audit.query({ types: ['login.password'], user: 'racer-mfa' });
    assert.equal(events.length, 1, 'the password was checked once');

    const codePage = await browser.get(`${app.url}/login/${txId}`);
    assert.match(codePage.body, /Enter your code/);
    now += 30_000;
    const codeAnswers = await sendAtOnce(browser, codePage, `/login/${txId}/mfa/totp`, { code: oathtoolTotp(secret, now) }, 3);
    assert.equal(handedOver.get(txId), 1, summary(codeAnswers));
    assert.ok(codeAnswers.every((answer) => answer.status < 500), summary(codeAnswers));
  });

  test('a change to a transaction that was completed meanwhile does not bring it back: it is refused as a finished sign-in', async () => {
    const { transactions } = app.services.interaction.deps;
    const read = await transactions.create(request({ handoff: { finisher: COUNTING_FINISHER, ref: '' } }));
    assert.ok(await transactions.consume(read.id), 'completed by another request');
    await assert.rejects(transactions.save({ ...read, pendingExpiryWarning: undefined }), (error: Error & { code?: string }) => error.code === 'TRANSACTION_UNKNOWN');
    assert.equal(await transactions.get(read.id), undefined, 'still finished: it cannot be completed again');
  });

  test('"Continue" after the password expiry warning, sent several times at once, hands the sign-in over once', async () => {
    const startedAt = now;
    await addLocalUser(app.services, 'racer-expiring', PASSWORD);
    now += 80 * 86_400_000; // 90-day maximum age, 14-day warning
    try {
      const browser = new TestBrowser();
      const { txId, page } = await openSignIn(browser);
      const warning = await browser.submit(page, { username: 'racer-expiring', password: PASSWORD });
      assert.match(warning.body, /Your password expires in 10 days/);
      const answers = await sendAtOnce(browser, warning, `/login/${txId}/continue`, {}, 5);
      assert.equal(handedOver.get(txId), 1, `handed over once: ${summary(answers)}`);
      assert.ok(answers.every((answer) => answer.status < 500), summary(answers));
      assert.equal(await app.services.interaction.deps.transactions.get(txId), undefined, 'and it stays finished');
    } finally {
      now = startedAt;
    }
  });
});
