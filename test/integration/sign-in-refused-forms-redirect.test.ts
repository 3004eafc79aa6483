import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { boot, TEST_FINISHER, type Booted } from '../helpers/boot.ts';
import { TestBrowser, parseForms, type Page } from '../helpers/browser.ts';
import { request as loginRequest, startSignIn } from '../helpers/login-request.ts';
import { createUser, createUserWithTotp } from '../helpers/oidc-rp.ts';
import { oathtoolTotp } from '../helpers/oathtool.ts';
import { launchChromium, watchedPage } from '../helpers/chromium.ts';
import { addLocalUser } from '../helpers/local-users.ts';
import { LocalUserAdmin } from '../../src/directory/local-user-admin.ts';

/**
 * A sign-in form refused with a page of its own (the sign-in expired, someone else signed in on the
 * browser, the application's policy refuses the user now) is answered with a redirect to a page that
 * shows it (Post/Redirect/Get), as a wrong password or code is: Back to it and Reload never make the
 * browser ask to send the form again ("Confirm Form Resubmission"), and nothing is sent again.
 */
const PASSWORD = 'correct horse 42';
const MINUTE = 60_000;
let now = Date.parse('2026-11-24T14:00:15Z');
const clock = { now: () => now };
let app: Booted;
const secrets = new Map<string, string>();

before(async () => {
  app = await boot({}, { clock });
  for (const username of ['alice', 'gina', 'olga']) secrets.set(username, (await createUserWithTotp(app, { username, password: PASSWORD, name: `${username[0]!.toUpperCase()}${username.slice(1)} Example` }, now)).secret);
  await createUser(app, { username: 'carol', password: PASSWORD });
  now += 30_000;
});
after(() => app?.close());

async function openSignIn(browser: TestBrowser, rpName = 'Payroll', policy = 'permit-everyone-require-mfa', forceAuthn = false): Promise<{ txId: string; page: Page }> {
  return startSignIn(app, browser, loginRequest({ rpId: rpName, rpName, forceAuthn, rp: { policy, allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
}

/** Sends the form of `page` whose action contains `match`, as a browser's POST, without following the answer. */
async function post(browser: TestBrowser, page: Page, values: Record<string, string>, match?: string): Promise<Page> {
  const form = parseForms(page.body, page.url).find((candidate) => !match || candidate.action.includes(match));
  assert.ok(form, `a form${match ? ` for ${match}` : ''} on ${page.url}`);
  return browser.request(form.action, { method: 'POST', body: new URLSearchParams({ ...form.fields, ...values }), followRedirects: false });
}

/** The POST was answered with a redirect (303) to a page of this sign-in; returns that page, and checks that it stays the same on Reload. */
async function redirectedPage(browser: TestBrowser, answer: Page, txId: string): Promise<Page> {
  assert.equal(answer.status, 303, `a redirect, not a page in the POST answer (got ${answer.status})`);
  const location = new URL(answer.headers.get('location')!, app.url);
  assert.ok(location.pathname.startsWith(`/login/${txId}`), location.pathname);
  const shown = await browser.get(location.toString());
  const reloaded = await browser.get(location.toString());
  assert.equal(reloaded.status, shown.status, 'Reload shows the same page');
  // But for the tokens of its forms and the reference of the request.
  const same = (page: Page) => page.body.replace(/value="[^"]{20,}"/g, '').replace(/Reference: <code>[^<]+<\/code>/, '');
  assert.equal(same(reloaded), same(shown), 'Reload shows the same page');
  return shown;
}

describe('refusals with a page of their own are redirects (Post/Redirect/Get)', () => {
  test('a password sent after the sign-in expired: a redirect to "Sign-in expired", which says where to go', async () => {
    const browser = new TestBrowser();
    const { txId, page } = await openSignIn(browser, 'Payroll', 'permit-everyone');
    now += 16 * MINUTE;
    const shown = await redirectedPage(browser, await post(browser, page, { username: 'alice', password: PASSWORD }), txId);
    assert.equal(shown.status, 400);
    assert.match(shown.body, /<h1>Sign-in expired<\/h1>/);
    assert.match(shown.body, /Your sign-in to Payroll was not finished in time, so it has expired\. Go back to Payroll and sign in again\./);
  });

  test('a setup code sent after the sign-in expired: the page says to delete the entry just added, on Reload too', async () => {
    const browser = new TestBrowser();
    const { txId, page } = await openSignIn(browser);
    const setupPage = await browser.submit(page, { username: 'carol', password: PASSWORD });
    const secret = /<code id="totp-secret">([^<]+)<\/code>/.exec(setupPage.body)![1]!.replace(/\s+/g, '');
    now += 16 * MINUTE;
    const shown = await redirectedPage(browser, await post(browser, setupPage, { code: oathtoolTotp(secret, now) }, '/enroll'), txId);
    assert.equal(shown.status, 400);
    assert.match(shown.body, /has expired\. Go back to Payroll and sign in again\. The entry you added to your authenticator app for this setup will not work: delete it\. When you sign in again, you will be shown a code to add\./);
  });

  test('a code sent after someone else signed in on the browser: a redirect to "Someone else signed in", which Reload does not turn into their sign-in', async () => {
    const browser = new TestBrowser();
    const { txId, page } = await openSignIn(browser);
    const codePage = await browser.submit(page, { username: 'alice', password: PASSWORD });
    assert.match(codePage.body, /Enter your code/);
    const other = await openSignIn(browser, 'Wiki', 'permit-everyone-require-mfa', true);
    const ginaCode = await browser.submit(other.page, { username: 'gina', password: PASSWORD });
    now += 30_000;
    await browser.submit(ginaCode, { code: oathtoolTotp(secrets.get('gina')!, now) });
    assert.equal(app.finished.get(other.txId)?.ok, true, 'gina signed in in another tab');

    now += 30_000;
    const shown = await redirectedPage(browser, await post(browser, codePage, { code: oathtoolTotp(secrets.get('alice')!, now) }), txId);
    assert.equal(shown.status, 409);
    assert.match(shown.body, /<h1>Someone else signed in<\/h1>/);
    assert.match(shown.body, /Since this page was shown, Gina Example \(gina\) signed in on this browser \(in another window or tab, for example\), so the code you entered was not checked and nothing was sent to Payroll\./);
    assert.match(shown.body, new RegExp(`<a href="/login/${txId}">Continue to Payroll as Gina Example \\(gina\\)</a>`));
    assert.equal(app.finished.get(txId), undefined, 'nothing reached the application, also after the Reload');
  });

  test('a setup code sent after someone else signed in: "Someone else signed in" also says to delete the entry just added, on Reload too', async () => {
    const browser = new TestBrowser();
    const { txId, page } = await openSignIn(browser);
    const setupPage = await browser.submit(page, { username: 'carol', password: PASSWORD });
    const secret = /<code id="totp-secret">([^<]+)<\/code>/.exec(setupPage.body)![1]!.replace(/\s+/g, '');
    const other = await openSignIn(browser, 'Wiki', 'permit-everyone-require-mfa', true);
    const ginaCode = await browser.submit(other.page, { username: 'gina', password: PASSWORD });
    now += 30_000;
    await browser.submit(ginaCode, { code: oathtoolTotp(secrets.get('gina')!, now) });

    const shown = await redirectedPage(browser, await post(browser, setupPage, { code: oathtoolTotp(secret, now) }, '/enroll'), txId);
    assert.equal(shown.status, 409);
    assert.match(shown.body, /nothing was sent to Payroll\. The entry you added to your authenticator app for this setup will not work: delete it\./);
    assert.equal(app.finished.get(txId), undefined);
  });

  test("the pages a refused form is sent to show nothing of it to another browser, nor \"Someone else signed in\" while the sign-in's own user is", async () => {
    const browser = new TestBrowser();
    const { txId, page } = await openSignIn(browser);
    const codePage = await browser.submit(page, { username: 'alice', password: PASSWORD });
    assert.match(codePage.body, /Enter your code/);
    const own = await browser.get(`${app.url}/login/${txId}/another-user`);
    assert.equal(new URL(own.url).pathname, `/login/${txId}`, 'the sign-in goes on at its step');
    assert.match(own.body, /Enter your code/);
    for (const suffix of ['/another-user', '/another-user?setup', '/setup-expired']) {
      const elsewhere = await new TestBrowser().get(`${app.url}/login/${txId}${suffix}`);
      assert.equal(elsewhere.status, 400, suffix);
      assert.doesNotMatch(elsewhere.body, /Payroll|alice|Alice|delete it|Someone else/, suffix);
    }
  });

  test("a code sent after the application's policy changed to refuse the user: a redirect to \"Access denied\", with the way back", async () => {
    await app.services.policies.save({ name: 'olga-until-now', rules: [{ then: { effect: 'require-mfa' } }] });
    const browser = new TestBrowser();
    const { txId, page } = await openSignIn(browser, 'Ledger', 'olga-until-now');
    const codePage = await browser.submit(page, { username: 'olga', password: PASSWORD });
    assert.match(codePage.body, /Enter your code/);
    await app.services.policies.save({ name: 'olga-until-now', rules: [{ then: { effect: 'deny', message: 'Ledger is closed for the audit. Ask your helpdesk if you need it.' } }] });

    now += 30_000;
    const shown = await redirectedPage(browser, await post(browser, codePage, { code: oathtoolTotp(secrets.get('olga')!, now) }), txId);
    assert.equal(shown.status, 403);
    assert.match(shown.body, /<h1>Access denied<\/h1>/);
    assert.match(shown.body, /Ledger is closed for the audit\. Ask your helpdesk if you need it\./);
    assert.match(shown.body, /Back to Ledger/);
    assert.equal(app.finished.get(txId), undefined);
  });

  test('a password form sent again to a sign-in that finished (an old tab, Back then Send): a redirect to its page, which says so and sends nothing', async () => {
    const browser = new TestBrowser();
    const { txId, page } = await openSignIn(browser, 'Wiki', 'permit-everyone');
    await browser.submit(page, { username: 'carol', password: PASSWORD });
    const finished = app.finished.get(txId);
    assert.equal(finished?.ok, true);
    const shown = await redirectedPage(browser, await post(browser, page, { username: 'carol', password: PASSWORD }), txId);
    assert.equal(shown.status, 200);
    assert.match(shown.body, /<h1>You are signed in<\/h1>/);
    assert.match(shown.body, /Your sign-in to Wiki is complete/);
    assert.equal(app.finished.get(txId), finished, 'nothing sent to the application again');
  });

  test('a password change sent after an administrator disabled the account: a redirect to a page that says so, with the way back and without the form', async () => {
    await addLocalUser(app.services, 'dana', PASSWORD, { mustChangePassword: true });
    const browser = new TestBrowser();
    const { txId, page } = await startSignIn(app, browser, loginRequest({ rpId: 'Payroll', rpName: 'Payroll', rp: { policy: 'permit-everyone', allowPasswordChange: true }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
    const changePage = await browser.submit(page, { username: 'dana', password: PASSWORD });
    assert.match(changePage.body, /name="newPassword"/);
    await new LocalUserAdmin(app.services.store, app.services.config, app.services.clock).update('dana', { disabled: true });
    const answer = await post(browser, changePage, { currentPassword: PASSWORD, newPassword: 'Brand-new-pass-77', confirmPassword: 'Brand-new-pass-77' });
    assert.deepEqual([answer.status, answer.headers.get('location')], [303, `/login/${txId}/change-password`], 'a redirect, not a page in the answer to the passwords');
    const shown = await browser.get(`${app.url}/login/${txId}/change-password`);
    assert.equal(shown.status, 403);
    assert.match(shown.body, /<h1>[^<]+<\/h1>\n<p role="alert"[^>]*>Your account is disabled\. Contact your helpdesk\./);
    assert.match(shown.body, /Back to Payroll/);
    assert.doesNotMatch(shown.body, /name="newPassword"/, 'no form that cannot succeed');
    assert.equal(app.finished.get(txId), undefined);
    const { events } = await app.services.store.audit.query({ types: ['password.change'], user: 'dana' });
    assert.deepEqual(events.map((event) => [event.outcome, event.reason]), [['failure', 'account-disabled']]);
  });

  for (const [username, reason, change] of [
    ['erik', 'account-expired', (admin: LocalUserAdmin) => admin.update('erik', { expiresAt: now - MINUTE })],
    ['rosa', 'account-removed', (admin: LocalUserAdmin) => admin.remove('rosa')],
  ] as const) {
    test(`a password change sent after the account ${reason === 'account-expired' ? 'expired' : 'was removed'} meanwhile: a redirect to a page without the form, as for a disabled one`, async () => {
      await addLocalUser(app.services, username, PASSWORD, { mustChangePassword: true });
      const browser = new TestBrowser();
      const { txId, page } = await startSignIn(app, browser, loginRequest({ rpId: 'Payroll', rpName: 'Payroll', rp: { policy: 'permit-everyone', allowPasswordChange: true }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
      const changePage = await browser.submit(page, { username, password: PASSWORD });
      assert.match(changePage.body, /name="newPassword"/);
      await change(new LocalUserAdmin(app.services.store, app.services.config, app.services.clock));
      const answer = await post(browser, changePage, { currentPassword: PASSWORD, newPassword: 'Brand-new-pass-77', confirmPassword: 'Brand-new-pass-77' });
      assert.deepEqual([answer.status, answer.headers.get('location')], [303, `/login/${txId}/change-password`], 'a redirect, not a page in the answer to the passwords');
      const shown = await browser.get(`${app.url}/login/${txId}/change-password`);
      assert.ok(shown.status >= 400, `${shown.status}`);
      assert.match(shown.body, /Back to Payroll/);
      assert.doesNotMatch(shown.body, /name="newPassword"/, 'no form that cannot succeed');
      const { events } = await app.services.store.audit.query({ types: ['password.change'], user: username });
      assert.deepEqual(events.map((event) => [event.outcome, event.reason]), [['failure', reason]]);
    });
  }
});

describe('in real headless Chromium', () => {
  let chromium: Browser;
  before(async () => {
    chromium = await launchChromium();
  });
  after(() => chromium?.close());

  test('Back to "Sign-in expired" after a password sent too late shows the page again, without asking to send the form again', { timeout: 60_000 }, async () => {
    const tx = await app.services.interaction.deps.transactions.create(loginRequest({ rpName: 'Payroll', rp: { policy: 'permit-everyone', allowPasswordChange: false }, handoff: { finisher: TEST_FINISHER, ref: '' } }));
    const context = await chromium.newContext();
    const { page, problems } = await watchedPage(context);
    await page.goto(`${app.url}/login/${tx.id}`);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    now += 16 * MINUTE;
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Sign-in expired' }).waitFor();
    const posts: string[] = [];
    page.on('request', (request) => void (request.method() === 'POST' && posts.push(request.url())));

    await page.goto(`${app.url}/healthz`);
    const back = await page.goBack();
    assert.equal(back?.status(), 400);
    await page.getByRole('heading', { name: 'Sign-in expired' }).waitFor();
    assert.match(await page.getByRole('alert').innerText(), /Go back to Payroll and sign in again/);
    await page.reload();
    await page.getByRole('heading', { name: 'Sign-in expired' }).waitFor();
    assert.deepEqual(posts, [], 'Back and Reload sent no form');
    assert.deepEqual(problems, []);
    await context.close();
  });
});
